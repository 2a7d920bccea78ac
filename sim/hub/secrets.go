package hub

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// routePackagesLocked serves productPackages[/{pkg}[/secrets[/{name}[/validate|/import]]]].
func (s *Server) routePackagesLocked(w http.ResponseWriter, r *http.Request, segs, low []string) {
	if len(low) == 1 {
		if allowMethod(w, r, http.MethodGet) {
			out := make([]packageJSON, 0, len(s.st.Products))
			for i := range s.st.Products {
				out = append(out, s.packageJSON(&s.st.Products[i]))
			}
			writeAdminList(s, w, r, out)
		}
		return
	}
	p := s.st.packageOf(segs[1])
	if p == nil {
		notFound(w, "product package", segs[1])
		return
	}
	switch {
	case len(low) == 2:
		if allowMethod(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, s.packageJSON(p))
		}
		return
	case low[2] != "secrets" || len(low) > 5:
		writeARMError(w, http.StatusNotFound, "InvalidResourceType",
			"The resource type '%s' could not be found under product packages.", segs[2])
		return
	case len(low) == 3:
		if allowMethod(w, r, http.MethodGet) {
			out := make([]secretJSON, 0, len(p.Secrets))
			for i := range p.Secrets {
				out = append(out, s.secretJSON(p, &p.Secrets[i]))
			}
			writeAdminList(s, w, r, out)
		}
		return
	}
	sec := p.secret(segs[3])
	if sec == nil {
		notFound(w, "secret", segs[3])
		return
	}
	switch {
	case len(low) == 4:
		if allowMethod(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, s.secretJSON(p, sec))
		}
	case low[4] == "validate" || low[4] == "import":
		if allowMethod(w, r, http.MethodPost) {
			s.validateOrImportLocked(w, r, p, sec, low[4] == "import")
		}
	default:
		writeARMError(w, http.StatusBadRequest, "UnsupportedOperation",
			"The simulated stamp does not support the action '%s' on secrets.", segs[4])
	}
}

// packageJSON is a product package resource.
type packageJSON struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Type       string       `json:"type"`
	Properties packageProps `json:"properties"`
}

type packageProps struct {
	FileContainerID     string `json:"fileContainerId"`
	IsDeployable        bool   `json:"isDeployable"`
	IsUpdatable         bool   `json:"isUpdatable"`
	ProductDeploymentID string `json:"productDeploymentId"`
	ProvisioningState   string `json:"provisioningState"`
}

func (s *Server) packageJSON(p *ProductState) packageJSON {
	return packageJSON{
		ID: s.prefix() + "/productPackages/" + p.packageID(), Name: "global/" + p.packageID(), Type: typePackage,
		Properties: packageProps{
			FileContainerID: p.packageID(), IsDeployable: true, IsUpdatable: false,
			ProductDeploymentID: s.prefix() + "/productDeployments/" + p.ID, ProvisioningState: "Succeeded",
		},
	}
}

// secretJSON is a product secret resource (SPEC ProductSecret). It keeps the
// real shape: there is no thumbprint field, so a client tells a deployed
// certificate by expirationDate (the certificate's NotAfter after a
// rotation); the thumbprints are in State only.
type secretJSON struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Type       string      `json:"type"`
	Properties secretProps `json:"properties"`
}

type secretProps struct {
	SecretKind        string           `json:"secretKind"`
	Description       string           `json:"description,omitempty"`
	ExpiresAfter      string           `json:"expiresAfter,omitempty"`
	SecretDescriptor  secretDescriptor `json:"secretDescriptor"`
	SecretState       secretStateJSON  `json:"secretState"`
	ProvisioningState string           `json:"provisioningState"`
}

// secretDescriptor describes what a certificate secret must be: subject,
// minimum key length and the SAN the stamp checks.
type secretDescriptor struct {
	Subject             string   `json:"subject,omitempty"`
	KeyLength           int      `json:"keyLength,omitempty"`
	AlternativeDNSNames []string `json:"alternativeDnsNames,omitempty"`
}

type secretStateJSON struct {
	Status         string `json:"status"`
	RotationStatus string `json:"rotationStatus"`
	ExpirationDate string `json:"expirationDate,omitempty"`
}

func (s *Server) secretJSON(p *ProductState, sec *SecretState) secretJSON {
	var desc secretDescriptor
	if sec.Kind == KindCertificate {
		host := p.host(s.opts.Region, s.opts.ExternalFQDN)
		desc = secretDescriptor{Subject: "CN=" + host, KeyLength: minKeyBits, AlternativeDNSNames: []string{host}}
	}
	return secretJSON{
		ID:   s.prefix() + "/productPackages/" + p.packageID() + "/secrets/" + sec.Name,
		Name: "global/" + p.packageID() + "/" + sec.Name, Type: typeSecret,
		Properties: secretProps{
			SecretKind: sec.Kind, Description: sec.Description, ExpiresAfter: sec.ExpiresAfter,
			SecretDescriptor: desc,
			SecretState: secretStateJSON{
				Status: sec.Status, RotationStatus: sec.RotationStatus, ExpirationDate: expirationDate(sec.ExpirationDate),
			},
			ProvisioningState: "Succeeded",
		},
	}
}

// expirationDate is secretState.expirationDate: absent when the stamp does
// not know it (Secret.NoExpiry).
func expirationDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return armTime(t)
}

// maxPFXBody bounds a validate/import body (a PFX is a few kilobytes).
const maxPFXBody = 4 << 20

// validateOrImportLocked checks an uploaded certificate and, for import,
// records it as Uploaded. The body is {"data": base64 PFX, "password": …};
// neither the bytes nor the password are kept or logged.
func (s *Server) validateOrImportLocked(w http.ResponseWriter, r *http.Request, p *ProductState, sec *SecretState, doImport bool) {
	if sec.Kind != KindCertificate {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent",
			"The secret '%s' is of kind %s; the simulated stamp accepts uploads of Certificate secrets only.", sec.Name, sec.Kind)
		return
	}
	if doImport {
		if op := s.st.running(p.ID); op != nil {
			writeARMError(w, http.StatusConflict, "Conflict",
				"Secrets of product '%s' cannot be imported while a secret rotation is in progress (operation '%s').", p.ID, op.ID)
			return
		}
	}
	var body struct {
		Data     *string `json:"data"`
		Password *string `json:"password"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPFXBody))
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeARMError(w, http.StatusRequestEntityTooLarge, "RequestContentTooLarge",
				"The request content exceeds %d bytes.", maxPFXBody)
			return
		}
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent",
			"The request content is not valid JSON; expected {\"data\": \"<base64 PFX>\", \"password\": \"<PFX password>\"}.")
		return
	}
	if body.Data == nil || *body.Data == "" {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent",
			"The request content must contain 'data', the base64 encoding of the PFX file.")
		return
	}
	pfx, err := base64.StdEncoding.DecodeString(*body.Data)
	if err != nil {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "The 'data' value is not valid base64.")
		return
	}
	password := ""
	if body.Password != nil {
		password = *body.Password
	}
	info, bad := checkCertificate(pfx, password, certRequirement{
		Host: p.host(s.opts.Region, s.opts.ExternalFQDN), Product: p.ID, Roots: s.ca.Pool(),
		RootName: s.ca.Cert.Subject.CommonName, Now: s.st.Now,
	})
	if s.st.Replies.AsyncSecrets {
		s.startSecretOpLocked(w, r, p, sec, doImport, info, bad)
		return
	}
	if bad != nil {
		writeARMError(w, http.StatusBadRequest, bad.Code, "%s", bad.Message)
		return
	}
	if doImport {
		sec.Status, sec.Uploaded = SecretUploaded, info
		sec.Imports++
		if !s.commitLocked(w) {
			return
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// startSecretOpLocked answers a validate or import as a long-running
// operation (Replies.AsyncSecrets): 202 with Azure-AsyncOperation,
// Location and Retry-After; the operation ends after
// SecretOperationDuration with the verdict on the certificate.
func (s *Server) startSecretOpLocked(w http.ResponseWriter, r *http.Request, p *ProductState, sec *SecretState, doImport bool, info *CertInfo, bad *ErrorInfo) {
	kind := "validate"
	if doImport {
		kind = "import"
	}
	id := guidFor("operation", s.opts.Region, s.opts.ExternalFQDN, p.ID, kind, strconv.Itoa(len(s.st.Operations)+1))
	op := OperationState{ID: id, Kind: kind, Product: p.ID, Status: OpUpdating, StartTime: s.st.Now,
		Duration: SecretOperationDuration, Secrets: []string{}, Secret: sec.Name}
	if bad != nil {
		op.Error = bad.clone()
	} else if doImport {
		op.Upload = info.clone()
	}
	s.st.Operations = append(s.st.Operations, op)
	if !s.commitLocked(w) {
		return
	}
	url := s.operationURL(r, id)
	w.Header().Set("Azure-AsyncOperation", url)
	w.Header().Set("Location", url)
	w.Header().Set("Retry-After", retryAfterSeconds(SecretOperationDuration/2))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}
