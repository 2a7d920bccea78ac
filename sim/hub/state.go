package hub

import (
	"slices"
	"strings"
	"time"
)

// Deployment (product) status values used by the simulator, from the
// ProductDeployment status enum of the Microsoft.Deployment.Admin spec.
const (
	StatusDeploymentSucceeded     = "DeploymentSucceeded"
	StatusBootstrapSucceeded      = "BootstrapSucceeded"
	StatusSecretRotationRunning   = "SecretRotationInProgress"
	StatusSecretRotationSucceeded = "SecretRotationSucceeded"
	StatusSecretRotationFailed    = "SecretRotationFailed"
)

// Secret status (secretState.status) and rotation status
// (secretState.rotationStatus) values.
const (
	SecretDeployed  = "Deployed"
	SecretUploaded  = "Uploaded"
	RotationNone    = "None"
	RotationRunning = "InProgress"
	RotationDone    = "Complete"
	RotationFailed  = "Failed"
)

// Operation status values (operation results).
const (
	OpRotatingSecrets = "RotatingSecrets"
	OpUpdating        = "Updating"
	OpSucceeded       = "Succeeded"
	OpFailed          = "Failed"
)

// State is a snapshot of the simulated stamp. Server.State returns a deep
// copy; changing it does not change the stamp. It is also the persisted
// form (see Options.StatePath).
type State struct {
	// Now is the stamp clock's time when the snapshot was taken.
	Now time.Time `json:"now"`
	// Scenario names the scenario the stamp was created from.
	Scenario string `json:"scenario"`
	// Created is the stamp clock's time when the stamp was created.
	Created time.Time `json:"created"`
	// Products are the installed resource providers, in scenario order.
	Products []ProductState `json:"products"`
	// Operations are the asynchronous operations started, oldest first.
	Operations []OperationState `json:"operations"`
	// Replies are the reply shapes the stamp uses (Scenario.Replies).
	Replies Replies `json:"replies"`
	// Infrastructure are the stamp's own secrets (alerts.go).
	Infrastructure []InfraSecretState `json:"infrastructure,omitempty"`
	// Alerts are the alerts raised, oldest first.
	Alerts []AlertState `json:"alerts,omitempty"`
	// TokensIssued counts access tokens issued since the server started
	// (not persisted).
	TokensIssued int `json:"-"`
}

// ProductState is a product deployment with its deployed package.
type ProductState struct {
	// ID is the product id, lower case.
	ID string `json:"id"`
	// Version is the deployed package version.
	Version string `json:"version"`
	// SANLabel names the certificate the product needs (see Product).
	SANLabel string `json:"sanLabel"`
	// RotationDuration is how long a rotation takes on the stamp clock.
	RotationDuration time.Duration `json:"rotationDuration"`
	// RetryAfter is the poll interval the stamp suggests.
	RetryAfter time.Duration `json:"retryAfter"`
	// PendingFailures are the scripted failure points of the next
	// rotations (Product.RotationFailures not yet used up).
	PendingFailures []float64 `json:"pendingFailures,omitempty"`
	// Status is the deployment's properties.status.
	Status string `json:"status"`
	// BootstrapOnly: bootstrapped, never deployed (Product.BootstrapOnly).
	BootstrapOnly bool `json:"bootstrapOnly,omitempty"`
	// LastError is the error of the last rotation, if it failed.
	LastError *ErrorInfo `json:"lastError,omitempty"`
	// RotateSecretsCalls counts POST rotateSecrets requests for the
	// product, including ones refused with 409.
	RotateSecretsCalls int `json:"rotateSecretsCalls"`
	// Rotations counts rotations started.
	Rotations int `json:"rotations"`
	// Secrets are the package's secrets.
	Secrets []SecretState `json:"secrets"`
}

// SecretState is the live state of one secret.
type SecretState struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Description  string `json:"description,omitempty"`
	ExpiresAfter string `json:"expiresAfter,omitempty"`
	// Status is secretState.status: Deployed or Uploaded.
	Status string `json:"status"`
	// RotationStatus is secretState.rotationStatus: None, InProgress,
	// Complete or Failed.
	RotationStatus string `json:"rotationStatus"`
	// ExpirationDate is when the deployed secret expires: the NotAfter of
	// the deployed certificate once one was rotated in. Zero when the
	// stamp does not say (Secret.NoExpiry).
	ExpirationDate time.Time `json:"expirationDate"`
	// Deployed describes the certificate in use, nil while the stamp still
	// uses the certificate it was created with.
	Deployed *CertInfo `json:"deployed,omitempty"`
	// Uploaded describes the certificate imported and waiting for the next
	// rotation.
	Uploaded *CertInfo `json:"uploaded,omitempty"`
	// Imports counts successful imports.
	Imports int `json:"imports"`
}

// CertInfo is what the stamp keeps of an imported certificate: its
// fingerprint, never its bytes, key or password.
type CertInfo struct {
	// ThumbprintSHA256 is the SHA-256 of the DER certificate, upper-case
	// hex (certs.SHA256Thumbprint).
	ThumbprintSHA256 string    `json:"thumbprintSHA256"`
	Subject          string    `json:"subject"`
	DNSNames         []string  `json:"dnsNames"`
	NotBefore        time.Time `json:"notBefore"`
	NotAfter         time.Time `json:"notAfter"`
	// ImportedAt is the stamp clock's time of the import.
	ImportedAt time.Time `json:"importedAt"`
}

// OperationState is an asynchronous operation: a secret rotation, or a
// validate or import with Replies.AsyncSecrets.
type OperationState struct {
	// ID is the operation id in the operationresults URL (a GUID).
	ID string `json:"id"`
	// Kind is "" for a rotation, else "validate" or "import".
	Kind string `json:"kind,omitempty"`
	// Product is the product id the operation rotates.
	Product string `json:"product"`
	// Status is RotatingSecrets (Updating for validate and import),
	// Succeeded or Failed.
	Status    string    `json:"status"`
	StartTime time.Time `json:"startTime"`
	// EndTime is zero while the operation runs.
	EndTime  time.Time     `json:"endTime"`
	Duration time.Duration `json:"duration"`
	// PercentComplete follows the clock; it stops at FailAt on failure.
	PercentComplete float64 `json:"percentComplete"`
	// FailAt, when positive, is the progress at which the operation fails.
	FailAt float64 `json:"failAt,omitempty"`
	// Secrets are the uploaded certificate secrets this rotation deploys.
	Secrets []string `json:"secrets"`
	// InternalOnly records a rotation started with no uploaded secret:
	// allowed (it rotates the product's internal secrets) but notable.
	InternalOnly bool `json:"internalOnly"`
	// Vanished operations answer 404 on their URL (a fault); the rotation
	// itself goes on.
	Vanished bool `json:"vanished,omitempty"`
	// Error is set when the operation failed; for validate and import it
	// is the verdict on the certificate, set from the start and shown
	// when the operation ends.
	Error *ErrorInfo `json:"error,omitempty"`
	// Secret and Upload are what an import records when it succeeds.
	Secret string    `json:"secret,omitempty"`
	Upload *CertInfo `json:"upload,omitempty"`
}

// ErrorInfo is an ARM error code and message.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// newState builds the stamp's initial state from a scenario at time now.
func newState(sc *Scenario, now time.Time) *State {
	st := &State{Scenario: sc.Name, Created: now, Now: now, Operations: []OperationState{}, Replies: sc.Replies}
	for _, p := range sc.Products {
		ps := ProductState{
			ID: strings.ToLower(p.ID), Version: p.Version, SANLabel: strings.ToLower(p.SANLabel),
			RotationDuration: p.RotationDuration, RetryAfter: p.retryAfter(),
			PendingFailures: slices.Clone(p.RotationFailures),
			Status:          StatusDeploymentSucceeded,
			BootstrapOnly:   p.BootstrapOnly,
		}
		if p.BootstrapOnly {
			ps.Status = StatusBootstrapSucceeded
		}
		for _, s := range p.Secrets {
			sec := SecretState{
				Name: s.Name, Kind: s.Kind, Description: s.Description, ExpiresAfter: s.ExpiresAfter,
				Status: SecretDeployed, RotationStatus: RotationNone,
				ExpirationDate: now.Add(s.ExpiresIn).UTC(),
			}
			if s.NoExpiry {
				sec.ExpirationDate = time.Time{}
			}
			if p.BootstrapOnly {
				sec.Status = "NotUploaded"
			}
			ps.Secrets = append(ps.Secrets, sec)
		}
		st.Products = append(st.Products, ps)
	}
	infra := sc.Infrastructure
	if infra == nil {
		infra = defaultInfra()
	}
	for _, is := range infra {
		st.Infrastructure = append(st.Infrastructure, InfraSecretState{Kind: is.Kind, ExpirationDate: now.Add(is.ExpiresIn).UTC()})
	}
	return st
}

// product returns the product with the given id, case-insensitively.
func (st *State) product(id string) *ProductState {
	for i := range st.Products {
		if strings.EqualFold(st.Products[i].ID, id) {
			return &st.Products[i]
		}
	}
	return nil
}

// packageOf returns the product whose package id (<id>.<version>) is pkg,
// case-insensitively.
func (st *State) packageOf(pkg string) *ProductState {
	for i := range st.Products {
		if strings.EqualFold(st.Products[i].packageID(), pkg) {
			return &st.Products[i]
		}
	}
	return nil
}

// operation returns the operation with the given id, case-insensitively.
func (st *State) operation(id string) *OperationState {
	for i := range st.Operations {
		if strings.EqualFold(st.Operations[i].ID, id) {
			return &st.Operations[i]
		}
	}
	return nil
}

// running returns the product's running operation, if any.
func (st *State) running(product string) *OperationState {
	for i := range st.Operations {
		op := &st.Operations[i]
		if op.Status == OpRotatingSecrets && strings.EqualFold(op.Product, product) {
			return op
		}
	}
	return nil
}

func (p *ProductState) packageID() string { return p.ID + "." + p.Version }

// secret returns the named secret, case-insensitively.
func (p *ProductState) secret(name string) *SecretState {
	for i := range p.Secrets {
		if strings.EqualFold(p.Secrets[i].Name, name) {
			return &p.Secrets[i]
		}
	}
	return nil
}

// clone returns a deep copy of the state.
func (st *State) clone() *State {
	c := *st
	c.Products = make([]ProductState, len(st.Products))
	for i, p := range st.Products {
		c.Products[i] = p.clone()
	}
	c.Infrastructure = slices.Clone(st.Infrastructure)
	c.Alerts = slices.Clone(st.Alerts)
	c.Operations = make([]OperationState, len(st.Operations))
	for i, op := range st.Operations {
		c.Operations[i] = op.clone()
	}
	return &c
}

func (p ProductState) clone() ProductState {
	p.PendingFailures = slices.Clone(p.PendingFailures)
	p.LastError = p.LastError.clone()
	p.Secrets = slices.Clone(p.Secrets)
	for i := range p.Secrets {
		p.Secrets[i].Deployed = p.Secrets[i].Deployed.clone()
		p.Secrets[i].Uploaded = p.Secrets[i].Uploaded.clone()
	}
	return p
}

func (op OperationState) clone() OperationState {
	op.Secrets = slices.Clone(op.Secrets)
	op.Error = op.Error.clone()
	op.Upload = op.Upload.clone()
	return op
}

func (c *CertInfo) clone() *CertInfo {
	if c == nil {
		return nil
	}
	d := *c
	d.DNSNames = slices.Clone(c.DNSNames)
	return &d
}

func (e *ErrorInfo) clone() *ErrorInfo {
	if e == nil {
		return nil
	}
	d := *e
	return &d
}

// host returns the certificate host the product requires on the stamp.
func (p *ProductState) host(region, fqdn string) string {
	return Product{SANLabel: p.SANLabel}.Host(region, fqdn)
}

// Product returns the product with the given id (case-insensitively) in a
// snapshot, or nil.
func (st State) Product(id string) *ProductState { return st.product(id) }

// Secret returns the named secret (case-insensitively) of a product in a
// snapshot, or nil.
func (p ProductState) Secret(name string) *SecretState { return p.secret(name) }
