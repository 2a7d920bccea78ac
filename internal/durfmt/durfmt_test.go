package durfmt

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	tests := map[string]struct {
		d    time.Duration
		want string
	}{
		"zero":              {0, "0s"},
		"negative":          {-time.Minute, "0s"},
		"seconds":           {45 * time.Second, "45s"},
		"minutes":           {15 * time.Minute, "15m"},
		"minutes, seconds":  {90 * time.Second, "1m30s"},
		"hours":             {4 * time.Hour, "4h"},
		"hours, minutes":    {4*time.Hour + 5*time.Minute, "4h05m"},
		"seconds dropped":   {4*time.Hour + 5*time.Second, "4h00m"},
		"rounded to second": {1499 * time.Millisecond, "1s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Format(tc.d); got != tc.want {
				t.Errorf("Format(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
