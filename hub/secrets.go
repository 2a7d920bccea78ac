package hub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
)

// certificateBody is what Set-AzsProductSecret sends for a certificate
// secret: the PFX inline, base64-encoded, and its password in plain text,
// with no "properties" wrapper (the module's code, not the swagger's
// SecretParameters model, which the module does not use).
type certificateBody struct {
	Data     string `json:"data"`
	Password string `json:"password"`
}

// ValidateSecret asks the stamp to check a certificate for a package's
// secret without importing it (Set-AzsProductSecret without -Force): the
// password opens the PFX, the key is there, the names and dates fit. Plan
// may call it; it changes nothing.
//
// The specification marks validate x-ms-long-running-operation: when the
// stamp answers with an operation URL, the operation is followed to its end
// on the client's clock. A rejection is an *Error with the stamp's code and
// message: with the HTTP status of a synchronous refusal, or wrapping
// ErrOperationFailed when the operation ends Failed.
func (c *Client) ValidateSecret(ctx context.Context, packageID, secretName string, pfx []byte, password Secret) error {
	op, err := c.postCertificate(ctx, "validate", packageID, secretName, pfx, password)
	if err != nil || op.Done() {
		return err
	}
	_, err = c.PollOperation(ctx, op, nil)
	return err
}

// ImportSecret uploads a certificate for a package's secret
// (Set-AzsProductSecret -Force). The stamp holds it as Uploaded until
// RotateSecrets deploys it. Importing the same certificate twice is
// harmless, so the request is retried like a read.
//
// The specification marks import x-ms-long-running-operation, while the
// PowerShell module treats it as synchronous: when the stamp answers with an
// operation URL, the returned Operation carries it (Done otherwise) and the
// caller must PollOperation it before it counts the import as done.
func (c *Client) ImportSecret(ctx context.Context, packageID, secretName string, pfx []byte, password Secret) (Operation, error) {
	return c.postCertificate(ctx, "import", packageID, secretName, pfx, password)
}

func (c *Client) postCertificate(ctx context.Context, action, packageID, secretName string, pfx []byte, password Secret) (Operation, error) {
	op := action + " secret " + packageID + "/" + secretName
	u, err := c.adminURL(ctx, "productPackages", packageID, "secrets", secretName, action)
	if err != nil {
		return Operation{}, err
	}
	data := base64.StdEncoding.EncodeToString(pfx)
	body, err := json.Marshal(certificateBody{Data: data, Password: password.Reveal()})
	if err != nil {
		return Operation{}, &Error{Stamp: c.stamp, Op: op, Message: "cannot encode the request"}
	}
	resp, err := c.send(ctx, request{op: op, method: http.MethodPost, url: u, body: body,
		secrets: []string{password.Reveal(), data}})
	if err != nil {
		return Operation{}, err
	}
	return c.operationFrom(op, resp)
}
