package azurerm

import (
	"bytes"
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/runbook-dev/runbook/state"
)

// maxDocument bounds the state document read.
const maxDocument = 64 << 20

// ReadDocument implements state.Backend: one GET of KEY/state.json.
func (b *Backend) ReadDocument(ctx context.Context) ([]byte, string, error) {
	name := b.blobName("state.json")
	resp, err := b.container.NewBlobClient(name).DownloadStream(ctx, nil)
	if isCode(err, bloberror.BlobNotFound) {
		return nil, "", fmt.Errorf("state document: %w", state.ErrNotFound)
	}
	if err != nil {
		return nil, "", b.explain("read the state document", name, err)
	}
	defer resp.Body.Close()
	data, err := readAllLimited(resp.Body, maxDocument)
	if err != nil {
		return nil, "", b.explain("read the state document", name, err)
	}
	return data, string(*resp.ETag), nil
}

// WriteDocument implements state.Backend: a Put Blob with If-Match (or
// If-None-Match: * to create). A 412 or 409 is state.ErrStale.
func (b *Backend) WriteDocument(ctx context.Context, data []byte, ifMatch string) (string, error) {
	name := b.blobName("state.json")
	cond := &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}
	if ifMatch != "" {
		cond = &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(ifMatch))}
	}
	resp, err := b.container.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
	})
	if st := status(err); st == 412 || st == 409 {
		// A retry of a write whose reply was lost fails its condition too:
		// if the document is what we wrote, the write landed.
		if cur, etag, rerr := b.ReadDocument(ctx); rerr == nil && bytes.Equal(cur, data) {
			return etag, nil
		}
		return "", fmt.Errorf("azurerm %s: %w", name, state.ErrStale)
	}
	if err != nil {
		return "", b.explain("write the state document", name, err)
	}
	return string(*resp.ETag), nil
}
