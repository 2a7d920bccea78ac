package azurerm

import (
	"bytes"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/runbook-dev/runbook/internal/azuritetest"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

// TestDocument runs the document rules; tampering overwrites the journal
// blob with Put Blob, as anyone with write access to the container could.
func TestDocument(t *testing.T) {
	statetest.RunDocument(t, func(t *testing.T) func() state.Backend {
		_, name := azuritetest.Container(t)
		return func() state.Backend { return newBackend(t, name, Config{}) }
	}, func(t *testing.T, b state.Backend, run string, data []byte) {
		be := b.(*Backend)
		if _, err := be.container.NewBlockBlobClient(be.journalBlob(run)).Upload(ctx(t), streaming.NopCloser(bytes.NewReader(data)), nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHistory(t *testing.T) {
	statetest.RunHistory(t, func(t *testing.T) func() state.Backend {
		_, name := azuritetest.Container(t)
		return func() state.Backend { return newBackend(t, name, Config{}) }
	})
}
