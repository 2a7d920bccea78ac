package azurerm

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/runbook-dev/runbook/state"
)

// ConsumePlan implements state.Backend: it creates KEY/plans/ID.applied
// with If-None-Match: *, holding a random nonce. When that fails because
// the blob exists, the nonce tells a retry of our own create (its reply
// was lost) from another machine's.
func (b *Backend) ConsumePlan(ctx context.Context, planID string) error {
	name := b.blobName("plans", planID+".applied")
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(randReader, nonce); err != nil {
		return err
	}
	mark := []byte(hex.EncodeToString(nonce) + "\n")
	_, err := b.container.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(mark)), &blockblob.UploadOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if st := status(err); st == 409 || st == 412 {
		if got, rerr := b.download(ctx, name, 0, 0); rerr == nil && bytes.Equal(got, mark) {
			return nil
		}
		return fmt.Errorf("plan %s: %w", planID, state.ErrConsumed)
	}
	return b.explain("mark the plan applied", name, err)
}

// PlanConsumed implements state.Backend.
func (b *Backend) PlanConsumed(ctx context.Context, planID string) (bool, error) {
	name := b.blobName("plans", planID+".applied")
	_, err := b.container.NewBlobClient(name).GetProperties(ctx, nil)
	if isCode(err, bloberror.BlobNotFound) {
		return false, nil
	}
	return err == nil, b.explain("read the plan's mark", name, err)
}

// KeyID returns the fingerprint of a key that the container keeps in
// KEY/key-id: an HMAC, from which the key cannot be recovered.
func KeyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("runbook key id v1"))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// ErrNoKey is returned by Key when Config.PlanKey is not set.
var ErrNoKey = errors.New("the azurerm backend needs the runbook key from the environment")

// Key implements state.Backend: Config.PlanKey, checked against the
// fingerprint in KEY/key-id. The first machine to use a backend records
// its key's fingerprint (If-None-Match: *); a machine with another key is
// refused, because its plans and fingerprints would not match the team's.
func (b *Backend) Key(ctx context.Context) ([]byte, error) {
	if len(b.cfg.PlanKey) != 32 {
		return nil, fmt.Errorf("%s: %w (32 bytes, base64; got %d bytes)", b, ErrNoKey, len(b.cfg.PlanKey))
	}
	name := b.blobName("key-id")
	id := KeyID(b.cfg.PlanKey)
	_, err := b.container.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte(id))), &blockblob.UploadOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if st := status(err); st == 409 || st == 412 {
		got, rerr := b.download(ctx, name, 0, 0)
		if rerr != nil {
			return nil, b.explain("read the key's fingerprint", name, rerr)
		}
		if !hmac.Equal(bytes.TrimSpace(got), []byte(id)) {
			return nil, fmt.Errorf("%s: the runbook key (fingerprint %s) is not the key this backend's runs were made with (fingerprint %s in %s): use the team's key", b, id, bytes.TrimSpace(got), name)
		}
		return b.cfg.PlanKey, nil
	}
	if err != nil {
		return nil, b.explain("record the key's fingerprint", name, err)
	}
	return b.cfg.PlanKey, nil
}

func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return data, err
}
