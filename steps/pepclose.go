package steps

import (
	"context"
	"fmt"

	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
)

// closingSession ends every PEP session runbook opens the way Microsoft's
// procedures do: Close-PrivilegedEndpoint, which copies the session's
// transcript to the pep block's transcripts_share when one is set
// (-TranscriptsPathDestination and -Credential) and otherwise leaves it on
// the PEP for the next close, before the connection is closed. A session
// broken by a transport failure is closed without it.
type closingSession struct {
	pep.Session
	close pep.Call
}

// withClose wraps s so that Close runs Close-PrivilegedEndpoint first,
// with the transcripts share of pep block b.
func withClose(s pep.Session, b *lang.PEP) pep.Session {
	call := pep.Call{Cmdlet: "Close-PrivilegedEndpoint"}
	if b != nil && b.TranscriptsShare != "" {
		call.Params = []pep.Param{{Name: "TranscriptsPathDestination", Value: b.TranscriptsShare}}
		if b.TranscriptsUsername != "" {
			call.Params = append(call.Params, pep.Param{Name: "Credential", Secret: true,
				Value: pep.Credential{Username: b.TranscriptsUsername, Password: b.TranscriptsPassword.Reveal()}})
		}
	}
	return &closingSession{Session: s, close: call}
}

// Close runs Close-PrivilegedEndpoint, then closes the session whatever
// its outcome; the first error is returned.
func (s *closingSession) Close(ctx context.Context) error {
	_, err := s.Invoke(ctx, s.close)
	if err != nil {
		err = fmt.Errorf("Close-PrivilegedEndpoint: %w", err)
	}
	if cerr := s.Session.Close(ctx); err == nil {
		err = cerr
	}
	return err
}
