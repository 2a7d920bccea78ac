package hub

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// APIVersion is the Microsoft.Deployment.Admin API version the client speaks.
const APIVersion = "2019-01-01"

// ProductDeployment is a resource provider deployed on the stamp
// (GET …/productDeployments[/{productId}]). Unknown fields are ignored.
type ProductDeployment struct {
	ID         string                      `json:"id"`
	Name       string                      `json:"name"` // "global/<productId>"
	Type       string                      `json:"type"`
	Properties ProductDeploymentProperties `json:"properties"`
}

// ProductDeploymentProperties are a deployment's properties.
type ProductDeploymentProperties struct {
	// Status is e.g. DeploymentSucceeded, SecretRotationInProgress,
	// SecretRotationSucceeded, SecretRotationFailed.
	Status                   string          `json:"status"`
	SubscriptionID           string          `json:"subscriptionId"`
	Deployment               *DeploymentInfo `json:"deployment,omitempty"`
	LastSuccessfulDeployment *DeploymentInfo `json:"lastSuccessfulDeployment,omitempty"`
	SecretRotation           *struct {
		SecretRotationPlanInstanceResourceID string `json:"secretRotationPlanInstanceResourceId"`
	} `json:"secretRotation,omitempty"`
	ProvisioningState string     `json:"provisioningState"`
	Error             *ErrorInfo `json:"error,omitempty"`
}

// DeploymentInfo describes one deployment of a product version.
type DeploymentInfo struct {
	Version                      string          `json:"version"`
	ActionPlanInstanceResourceID string          `json:"actionPlanInstanceResourceId"`
	Parameters                   json.RawMessage `json:"parameters,omitempty"`
}

// ProductID returns the product's id, the last segment of Name
// ("microsoft.eventhub").
func (d ProductDeployment) ProductID() string { return lastSegment(d.Name) }

// PackageID returns the id of the deployed package, "<productId>.<version>"
// (the packageId of the secrets calls), or "" when no version is deployed.
func (d ProductDeployment) PackageID() string {
	if d.Properties.Deployment == nil || d.Properties.Deployment.Version == "" {
		return ""
	}
	return d.ProductID() + "." + d.Properties.Deployment.Version
}

// ProductPackage is an uploaded package of a product version
// (GET …/productPackages[/{packageId}]).
type ProductPackage struct {
	ID         string `json:"id"`
	Name       string `json:"name"` // "global/<packageId>"
	Type       string `json:"type"`
	Properties struct {
		FileContainerID     string `json:"fileContainerId"`
		IsDeployable        bool   `json:"isDeployable"`
		IsUpdatable         bool   `json:"isUpdatable"`
		ProductDeploymentID string `json:"productDeploymentId"`
		ProvisioningState   string `json:"provisioningState"`
	} `json:"properties"`
}

// PackageID returns the package's id, the last segment of Name.
func (p ProductPackage) PackageID() string { return lastSegment(p.Name) }

// ProductSecret is a secret of a package
// (GET …/productPackages/{packageId}/secrets[/{name}]).
type ProductSecret struct {
	ID         string `json:"id"`
	Name       string `json:"name"` // "global/<packageId>/<secretName>"
	Type       string `json:"type"`
	Properties struct {
		// SecretKind is AdHoc, Certificate, Password, StorageAccount or
		// SymmetricKey.
		SecretKind        string          `json:"secretKind"`
		Description       string          `json:"description"`
		ExpiresAfter      string          `json:"expiresAfter"` // ISO 8601 duration, e.g. P730D
		SecretDescriptor  json.RawMessage `json:"secretDescriptor,omitempty"`
		SecretState       SecretState     `json:"secretState"`
		ProvisioningState string          `json:"provisioningState"`
	} `json:"properties"`
}

// SecretName returns the secret's name, the last segment of Name.
func (s ProductSecret) SecretName() string { return lastSegment(s.Name) }

// SecretState is where a secret stands in the import → rotate cycle.
type SecretState struct {
	// Status is e.g. NotUploaded, Uploaded (imported, not yet rotated in)
	// or Deployed.
	Status string `json:"status"`
	// RotationStatus is e.g. None, InProgress or Complete.
	RotationStatus string `json:"rotationStatus"`
	// ExpirationDate is kept as the stamp sent it; see Expiration.
	ExpirationDate string `json:"expirationDate"`
}

// Expiration parses ExpirationDate (RFC 3339, with or without a zone, which
// then means UTC); ok is false when it is absent, zero or unreadable.
func (s SecretState) Expiration() (t time.Time, ok bool) { return parseARMTime(s.ExpirationDate) }

func parseARMTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			if t.IsZero() || t.Year() <= 1 {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func lastSegment(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// adminURL returns the URL of a Microsoft.Deployment.Admin resource path
// under the Default Provider Subscription; segments are path-escaped.
func (c *Client) adminURL(ctx context.Context, segments ...string) (string, error) {
	sub, err := c.SubscriptionID(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(c.base + "/subscriptions/" + url.PathEscape(sub) + "/providers/Microsoft.Deployment.Admin/locations/global")
	for _, s := range segments {
		b.WriteString("/" + url.PathEscape(s))
	}
	b.WriteString("?api-version=" + APIVersion)
	return b.String(), nil
}

// ListProductDeployments lists the products deployed on the stamp.
func (c *Client) ListProductDeployments(ctx context.Context) ([]ProductDeployment, error) {
	u, err := c.adminURL(ctx, "productDeployments")
	if err != nil {
		return nil, err
	}
	return listAll[ProductDeployment](ctx, c, "list product deployments", u)
}

// GetProductDeployment reads one product's deployment; IsNotFound(err) when
// the product is not deployed. Product ids match case-insensitively.
func (c *Client) GetProductDeployment(ctx context.Context, productID string) (*ProductDeployment, error) {
	u, err := c.adminURL(ctx, "productDeployments", productID)
	if err != nil {
		return nil, err
	}
	return getJSON[ProductDeployment](ctx, c, "get product deployment "+productID, u)
}

// ListProductPackages lists the product packages uploaded to the stamp.
func (c *Client) ListProductPackages(ctx context.Context) ([]ProductPackage, error) {
	u, err := c.adminURL(ctx, "productPackages")
	if err != nil {
		return nil, err
	}
	return listAll[ProductPackage](ctx, c, "list product packages", u)
}

// GetProductPackage reads one package ("microsoft.eventhub.1.2003.0.0").
func (c *Client) GetProductPackage(ctx context.Context, packageID string) (*ProductPackage, error) {
	u, err := c.adminURL(ctx, "productPackages", packageID)
	if err != nil {
		return nil, err
	}
	return getJSON[ProductPackage](ctx, c, "get product package "+packageID, u)
}

// ListProductSecrets lists the secrets of a package.
func (c *Client) ListProductSecrets(ctx context.Context, packageID string) ([]ProductSecret, error) {
	u, err := c.adminURL(ctx, "productPackages", packageID, "secrets")
	if err != nil {
		return nil, err
	}
	return listAll[ProductSecret](ctx, c, "list secrets of "+packageID, u)
}

// GetProductSecret reads one secret of a package.
func (c *Client) GetProductSecret(ctx context.Context, packageID, secretName string) (*ProductSecret, error) {
	u, err := c.adminURL(ctx, "productPackages", packageID, "secrets", secretName)
	if err != nil {
		return nil, err
	}
	return getJSON[ProductSecret](ctx, c, "get secret "+packageID+"/"+secretName, u)
}
