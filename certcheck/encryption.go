package certcheck

import (
	"crypto/x509"
	"encoding/asn1"

	"software.sslmate.com/src/go-pkcs12"
)

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidShroudedKey   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidTripleDES     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
)

// algorithmNames are the PKCS#12 and PKCS#5 encryption schemes by OID.
var algorithmNames = map[string]string{
	"1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
	"1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
	"1.2.840.113549.1.12.1.3": "pbeWithSHAAnd3-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.4": "pbeWithSHAAnd2-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.5": "pbeWithSHAAnd128BitRC2-CBC",
	"1.2.840.113549.1.12.1.6": "pbeWithSHAAnd40BitRC2-CBC",
	"1.2.840.113549.1.5.13":   "PBES2 (AES)",
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type encryptedData struct {
	Version              int
	EncryptedContentInfo struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   algorithmIdentifier
		Content     asn1.RawValue `asn1:"tag:0,optional"`
	}
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes asn1.RawValue `asn1:"optional"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm algorithmIdentifier
	Data      []byte
}

// encryption walks the PFX's structure (nothing needs decrypting: the
// algorithm identifiers are in the clear) and returns the name of each
// encryption scheme used, certificates' first, without repeats. A structure
// it cannot walk yields nil: Check has judged the file readable already.
func encryption(data []byte) []string {
	var pfx pfxPDU
	if _, err := asn1.Unmarshal(data, &pfx); err != nil || !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil
	}
	var safeBytes []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &safeBytes); err != nil {
		return nil
	}
	var safe []contentInfo
	if _, err := asn1.Unmarshal(safeBytes, &safe); err != nil {
		return nil
	}
	var out []string
	add := func(oid asn1.ObjectIdentifier) {
		name, ok := algorithmNames[oid.String()]
		if !ok {
			name = oid.String()
		}
		for _, o := range out {
			if o == name {
				return
			}
		}
		out = append(out, name)
	}
	for _, ci := range safe {
		switch {
		case ci.ContentType.Equal(oidEncryptedData):
			var ed encryptedData
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err == nil {
				add(ed.EncryptedContentInfo.Algorithm.Algorithm)
			}
		case ci.ContentType.Equal(oidData):
			var contents []byte
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &contents); err != nil {
				continue
			}
			var bags []safeBag
			if _, err := asn1.Unmarshal(contents, &bags); err != nil {
				continue
			}
			for _, b := range bags {
				if !b.ID.Equal(oidShroudedKey) {
					continue
				}
				var epki encryptedPrivateKeyInfo
				if _, err := asn1.Unmarshal(b.Value.Bytes, &epki); err == nil {
					add(epki.Algorithm.Algorithm)
				}
			}
		}
	}
	return out
}

// notTripleDES returns the schemes other than TripleDES-SHA1.
func notTripleDES(algs []string) []string {
	var bad []string
	for _, a := range algs {
		if a != algorithmNames[oidTripleDES.String()] {
			bad = append(bad, a)
		}
	}
	return bad
}

// certsOnly reads the certificates of a PFX that holds no key and whose
// certificates are not marked as a Java trust store (as a Windows export
// without the private key is), by the PEM conversion go-pkcs12 offers.
func certsOnly(data []byte, password string) ([]*x509.Certificate, error) {
	//lint:ignore SA1019 only the certificate blocks are read, which ToPEM encodes correctly
	blocks, err := pkcs12.ToPEM(data, password)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
