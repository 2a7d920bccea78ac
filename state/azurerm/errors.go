package azurerm

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// explain turns an error of the storage service into one that names the
// account, container and blob and says what to do. It never includes the
// request URL, which may carry a SAS token.
func (b *Backend) explain(op, blob string, err error) error {
	if err == nil {
		return nil
	}
	where := fmt.Sprintf("azurerm %s/%s", b.cfg.Account, b.cfg.Container)
	if blob != "" {
		where += ": " + blob
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("%s: %s: %w", where, op, bare(err))
	}
	switch {
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return fmt.Errorf("%s: %s: the container %q does not exist in storage account %q; create it first (runbook does not create containers)",
			where, op, b.cfg.Container, b.cfg.Account)
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure,
		bloberror.AuthorizationPermissionMismatch, bloberror.InsufficientAccountPermissions):
		return fmt.Errorf("%s: %s: the storage account %q refused the credential (%s): check access_key, sas_token (permissions racwdl) or the identity's data role",
			where, op, b.cfg.Account, re.ErrorCode)
	case re.StatusCode == http.StatusBadRequest && re.ErrorCode == string(bloberror.InvalidHeaderValue):
		return fmt.Errorf("%s: %s: the service refused a header (%s), most likely storage service version %s; an Azure Stack Hub stamp accepts only older versions",
			where, op, re.ErrorCode, b.cfg.ServiceVersion)
	}
	code := re.ErrorCode
	if code == "" {
		code = http.StatusText(re.StatusCode)
	}
	return fmt.Errorf("%s: %s: HTTP %d %s: %w", where, op, re.StatusCode, code, errNoURL{re})
}

// errNoURL keeps a *azcore.ResponseError reachable through errors.As
// without printing its text, which quotes the request URL.
type errNoURL struct{ re *azcore.ResponseError }

func (e errNoURL) Error() string { return "storage service error" }
func (e errNoURL) Unwrap() error { return e.re }

func isCode(err error, codes ...bloberror.Code) bool { return bloberror.HasCode(err, codes...) }

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
