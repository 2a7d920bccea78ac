package psrp

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests hold the codec to the worked examples of [MS-PSRP] in
// testdata/ (see its README), so that the client and the simulator, which
// share this codec, cannot merely agree with each other.

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unmarshalFixture(t *testing.T, name string) any {
	t.Helper()
	v, err := Unmarshal(readFixture(t, name), nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

var interElementSpace = regexp.MustCompile(`>\s+<`)

// canonical strips the indentation of a fixture and the RefIds, which
// depend on where an object sits in its message.
func canonical(b []byte) string {
	s := interElementSpace.ReplaceAllString(strings.TrimSpace(string(b)), "><")
	return regexp.MustCompile(` RefId="\d+"`).ReplaceAllString(s, "")
}

func TestSpecSessionCapability(t *testing.T) {
	c, err := ParseCapability(unmarshalFixture(t, "session_capability.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Capability{ProtocolVersion: "2.2", PSVersion: "2.0", SerializationVersion: "1.1.0.1"}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Our own capability serializes to the same shape.
	b, err := Marshal(want.Object(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(canonical(readFixture(t, "session_capability.xml")), canonical(b)); diff != "" {
		t.Errorf("Marshal (-spec +ours):\n%s", diff)
	}
}

func TestSpecPSThreadOptions(t *testing.T) {
	// The PSThreadOptions property of the INIT_RUNSPACEPOOL example is an
	// enum exactly as Enum writes it, and as InitPool sends it.
	fixture := readFixture(t, "psthreadoptions.xml")
	ours, err := Marshal(&Object{Members: []Property{{"PSThreadOptions", Enum(TypePSThreadOptions, "Default", 0)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(canonical(ours), "<Obj><MS>"), "</MS></Obj>")
	if diff := cmp.Diff(canonical(fixture), inner); diff != "" {
		t.Errorf("(-spec +ours):\n%s", diff)
	}
	initXML, err := Marshal(InitPool{MinRunspaces: 1, MaxRunspaces: 1}.Object(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(canonical(initXML), canonical(fixture)) {
		t.Errorf("INIT_RUNSPACEPOOL does not carry the spec's PSThreadOptions:\n%s", initXML)
	}
	if !strings.HasPrefix(canonical(initXML), `<Obj><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">1</I32>`) {
		t.Errorf("INIT_RUNSPACEPOOL does not start as the spec's example:\n%s", initXML)
	}
}

func TestSpecPublicKey(t *testing.T) {
	blob, err := ParseKeyBlob(unmarshalFixture(t, "public_key.xml"), "PublicKey")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyBlob(blob)
	if err != nil {
		t.Fatal(err)
	}
	if pub.E != 65537 || pub.N.BitLen() != 2048 {
		t.Errorf("spec key: exponent %d, %d bits; want 65537, 2048", pub.E, pub.N.BitLen())
	}
	// Re-encoding gives the spec's bytes back.
	again, err := MarshalPublicKeyBlob(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob, again) {
		t.Errorf("re-encoded key differs:\nspec %x\nours %x", blob[:24], again[:24])
	}
	// And a session key encrypted to it has the spec's SIMPLEBLOB shape.
	esk, err := fixedKey(1).EncryptTo(nil, pub)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseKeyBlob(unmarshalFixture(t, "encrypted_session_key.xml"), "EncryptedSessionKey")
	if err != nil {
		t.Fatal(err)
	}
	if len(esk) != len(spec) || !bytes.Equal(esk[:12], spec[:12]) {
		t.Errorf("our blob: %d bytes, header %x; spec: %d bytes, header %x", len(esk), esk[:12], len(spec), spec[:12])
	}
}

func TestSpecEncryptedSessionKey(t *testing.T) {
	blob, err := ParseKeyBlob(unmarshalFixture(t, "encrypted_session_key.xml"), "EncryptedSessionKey")
	if err != nil {
		t.Fatal(err)
	}
	// The example's private key is not published: the blob must pass the
	// header checks and fail only at the RSA step.
	_, err = DecryptSessionKey(testKey(t), blob)
	if err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Fatalf("DecryptSessionKey = %v, want a decryption (not a format) error", err)
	}
}

func TestSpecPublicKeyRequest(t *testing.T) {
	if v := unmarshalFixture(t, "public_key_request.xml"); v != "" {
		t.Fatalf("PUBLIC_KEY_REQUEST = %#v, want the empty string", v)
	}
	b, _ := Marshal("", nil)
	if got := canonical(b); got != canonical(readFixture(t, "public_key_request.xml")) {
		t.Errorf("Marshal(\"\") = %s", got)
	}
}

func TestSpecRunspacePoolState(t *testing.T) {
	s, err := ParsePoolState(unmarshalFixture(t, "runspacepool_state.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.State != PoolOpened || s.Error != nil {
		t.Errorf("state %v, error %v; want Opened, none", s.State, s.Error)
	}
	b, _ := Marshal(PoolState{State: PoolOpened}.Object(), nil)
	if diff := cmp.Diff(canonical(readFixture(t, "runspacepool_state.xml")), canonical(b)); diff != "" {
		t.Errorf("(-spec +ours):\n%s", diff)
	}
}

func TestSpecRunspacePoolInitData(t *testing.T) {
	o := unmarshalFixture(t, "runspacepool_init_data.xml").(*Object)
	lo, _ := o.Int("MinRunspaces")
	hi, _ := o.Int("MaxRunspaces")
	if lo != 1 || hi != 1 {
		t.Errorf("runspaces %d..%d, want 1..1", lo, hi)
	}
}

func TestSpecSecureString(t *testing.T) {
	v := unmarshalFixture(t, "secure_string.xml")
	ss, ok := v.(SecureString)
	if !ok {
		t.Fatalf("decoded %T, want SecureString", v)
	}
	if n := len(ss.Ciphertext()); n != 256 || n%16 != 0 {
		t.Errorf("ciphertext is %d bytes, want 256 (whole AES blocks)", n)
	}
	// Without the session key it goes out again unchanged.
	b, err := Marshal(ss, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(strings.Fields(string(readFixture(t, "secure_string.xml"))), "")
	if got := strings.ReplaceAll(string(b), " ", ""); got != want {
		t.Errorf("re-marshalled %s, want %s", got, want)
	}
	if _, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(want, "<SS>"), "</SS>")); err != nil {
		t.Fatal(err)
	}
}
