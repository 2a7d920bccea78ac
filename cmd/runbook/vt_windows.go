package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableVT turns on virtual-terminal processing for the console f, so that
// colours and the live status line's escape sequences are interpreted
// rather than printed (a classic console would show "←[32m"). It reports
// whether escape sequences may be written to f; f not being a console (a
// pipe, a file) is left alone and reported as true, since nothing is shown.
func enableVT(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return true // not a console
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return true
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
