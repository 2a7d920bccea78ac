package wsman

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigDefaults(t *testing.T) {
	tests := map[string]struct {
		in   Config
		want Config
	}{
		"http": {
			in:   Config{Host: "10.0.0.5", Username: `AZURESTACK\CloudAdmin`},
			want: Config{Host: "10.0.0.5", Port: 5985, Username: `AZURESTACK\CloudAdmin`, OperationTimeout: 20 * time.Second, RequestTimeout: 35 * time.Second, MaxEnvelopeSize: 512000, MaxConnections: 2, Locale: "en-US"},
		},
		"https with own timeouts": {
			in:   Config{Host: "ercs01", HTTPS: true, Username: "u", OperationTimeout: 5 * time.Second, MaxConnections: 1, Locale: "de-DE"},
			want: Config{Host: "ercs01", Port: 5986, HTTPS: true, Username: "u", OperationTimeout: 5 * time.Second, RequestTimeout: 20 * time.Second, MaxEnvelopeSize: 512000, MaxConnections: 1, Locale: "de-DE"},
		},
		"basic to loopback": {
			in:   Config{Host: "127.0.0.1", Port: 1234, Auth: AuthBasic, Username: "u"},
			want: Config{Host: "127.0.0.1", Port: 1234, Auth: AuthBasic, Username: "u", OperationTimeout: 20 * time.Second, RequestTimeout: 35 * time.Second, MaxEnvelopeSize: 512000, MaxConnections: 2, Locale: "en-US"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.in.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if got.Clock == nil || got.Logger == nil {
				t.Error("no default clock or logger")
			}
			got.Clock, got.Logger = nil, nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBasicRefusedOffLoopback checks that Basic to anything but a loopback
// IP literal is refused by New, before any traffic: the dialer fails the
// test if it is ever called.
func TestBasicRefusedOffLoopback(t *testing.T) {
	dial := func(context.Context, string, string) (net.Conn, error) {
		t.Error("dialled")
		return nil, errors.New("no")
	}
	tests := map[string]struct {
		host string
		ok   bool
	}{
		"ipv4 loopback":     {host: "127.0.0.1", ok: true},
		"other 127/8":       {host: "127.10.0.1", ok: true},
		"ipv6 loopback":     {host: "::1", ok: true},
		"bracketed ipv6":    {host: "[::1]", ok: true},
		"lan address":       {host: "10.0.0.5"},
		"localhost by name": {host: "localhost"},
		"host name":         {host: "ercs01.azurestack.local"},
		"unspecified":       {host: "0.0.0.0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := New(context.Background(), Config{Host: tc.host, Auth: AuthBasic, Username: "u", Password: "p", Dial: dial})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				return
			}
			if !errors.Is(err, ErrBasicNotLoopback) {
				t.Fatalf("New = %v, want ErrBasicNotLoopback", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := map[string]Config{
		"no host":       {Username: "u"},
		"no user":       {Host: "10.0.0.5"},
		"unknown auth":  {Host: "10.0.0.5", Username: "u", Auth: 7},
		"bad CA":        {Host: "10.0.0.5", Username: "u", HTTPS: true, CAPEM: []byte("not a certificate")},
		"tiny envelope": {Host: "10.0.0.5", Username: "u", MaxEnvelopeSize: 4096},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(context.Background(), cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestSplitUser(t *testing.T) {
	tests := map[string][2]string{
		`AZURESTACK\CloudAdmin`:       {"AZURESTACK", "CloudAdmin"},
		"CloudAdmin":                  {"", "CloudAdmin"},
		"cloudadmin@azurestack.local": {"", "cloudadmin@azurestack.local"},
	}
	for in, want := range tests {
		d, u := splitUser(in)
		if diff := cmp.Diff(want, [2]string{d, u}); diff != "" {
			t.Errorf("splitUser(%q) mismatch (-want +got):\n%s", in, diff)
		}
	}
}
