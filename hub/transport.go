package hub

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/runbook-dev/runbook/internal/boundedread"
)

// newHTTPClient builds the HTTP client shared by the ARM pipeline and the
// credential: TLS verified against the system roots plus the stamp's root CA,
// or not verified at all when cfg.Insecure is set (the warning is returned).
//
// The timeouts below are socket-level I/O deadlines on the wall clock: they
// bound a hung dial, handshake or server and cannot run on a virtual clock.
// Waiting between requests never uses them; it goes through the clock.Clock.
func newHTTPClient(cfg *Config, stamp string) (*http.Client, []string, error) {
	var t *http.Transport
	if cfg.HTTPTransport != nil {
		t = cfg.HTTPTransport.Clone()
	} else {
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          20,
			MaxIdleConnsPerHost:   10,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			ExpectContinueTimeout: time.Second,
		}
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.TLSClientConfig != nil {
		tc = t.TLSClientConfig.Clone()
	}
	pool, err := rootPool(cfg, stamp)
	if err != nil {
		return nil, nil, err
	}
	if pool != nil {
		tc.RootCAs = pool
	}
	var warnings []string
	if cfg.Insecure {
		tc.InsecureSkipVerify = true
		warnings = append(warnings, fmt.Sprintf("hub %s: TLS certificate verification is off (insecure = true): "+
			"anyone on the network path can impersonate the stamp and read the credentials and secrets sent to it", stamp))
	}
	t.TLSClientConfig = tc
	return &http.Client{Transport: t}, warnings, nil
}

// rootPool returns the system roots plus the stamp's CA, or nil when no CA is
// configured (the transport then uses the system roots).
func rootPool(cfg *Config, stamp string) (*x509.CertPool, error) {
	if cfg.CAFile == "" && len(cfg.CAPEM) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if len(cfg.CAPEM) > 0 && !pool.AppendCertsFromPEM(cfg.CAPEM) {
		return nil, fmt.Errorf("hub %s: ca_pem holds no PEM certificate", stamp)
	}
	if cfg.CAFile != "" {
		pem, err := boundedread.File(cfg.CAFile, boundedread.Cert)
		if err != nil {
			return nil, fmt.Errorf("hub %s: ca_file: %w", stamp, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("hub %s: ca_file %s holds no PEM certificate", stamp, cfg.CAFile)
		}
	}
	return pool, nil
}
