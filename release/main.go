// Command release builds runbook's release archives: for each target a
// static binary (CGO_ENABLED=0, -trimpath, the version stamped into
// main.version), zipped with the LICENSE, README and CHANGELOG, and a
// SHA256SUMS file over the archives.
//
//	go run ./release -version v0.2.0          # a release, from a tag
//	go run ./release -snapshot                # a snapshot of the work tree
//
// The targets build one after another in one process, so that the second
// and later targets reuse the build cache for everything that is not
// per-platform. It needs nothing but the Go toolchain, on any OS.
package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// targets are the platforms a release is built for: operators' jump hosts
// and CI agents (Windows and Linux, on amd64 and arm64) and macOS on Apple
// silicon.
var targets = []string{"windows/amd64", "windows/arm64", "linux/amd64", "linux/arm64", "darwin/arm64"}

// extras are the files every archive carries beside the binary.
var extras = []string{"LICENSE", "README.md", "CHANGELOG.md"}

var versionRE = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$`)

func main() {
	version := flag.String("version", "", "Stamp this `version` (vMAJOR.MINOR.PATCH) into the binaries")
	snapshot := flag.Bool("snapshot", false, "Build a snapshot: the version is the last tag (or v0.0.0) with -SNAPSHOT-<commit>")
	out := flag.String("out", "dist", "Write the archives and SHA256SUMS to `dir` (emptied first)")
	only := flag.String("targets", strings.Join(targets, ","), "Build these comma-separated `os/arch` targets")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(errors.New("release takes no arguments"))
	}
	v, err := chooseVersion(*version, *snapshot)
	if err != nil {
		fail(err)
	}
	if err := build(v, *out, strings.Split(*only, ",")); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "release: %v\n", err)
	os.Exit(1)
}

// chooseVersion returns the version to stamp.
func chooseVersion(version string, snapshot bool) (string, error) {
	switch {
	case version != "" && snapshot:
		return "", errors.New("give -version or -snapshot, not both")
	case version != "":
		if !versionRE.MatchString(version) {
			return "", fmt.Errorf("version %q is not vMAJOR.MINOR.PATCH", version)
		}
		if !strings.HasPrefix(version, "v") {
			version = "v" + version
		}
		return version, nil
	case snapshot:
		tag := "v0.0.0"
		if t, err := git("describe", "--tags", "--abbrev=0"); err == nil && versionRE.MatchString(t) {
			tag = t
		}
		commit, err := git("rev-parse", "--short=12", "HEAD")
		if err != nil {
			commit = "unknown"
		}
		return tag + "-SNAPSHOT-" + commit, nil
	}
	return "", errors.New("give -version vX.Y.Z for a release, or -snapshot")
}

func git(args ...string) (string, error) {
	b, err := exec.Command("git", args...).Output()
	return strings.TrimSpace(string(b)), err
}

// build builds every target into out and writes SHA256SUMS.
func build(version, out string, only []string) error {
	for _, f := range extras {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("run release from the repository's root: %w", err)
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "runbook-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sums := map[string]string{}
	for _, t := range only {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(t), "/")
		if !ok {
			return fmt.Errorf("target %q is not os/arch", t)
		}
		start := time.Now()
		exe := "runbook"
		if goos == "windows" {
			exe += ".exe"
		}
		bin := filepath.Join(tmp, goos+"_"+goarch, exe)
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
			"-ldflags", "-s -w -X main.version="+version, "-o", bin, "./cmd/runbook")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", t, err)
		}
		name := fmt.Sprintf("runbook_%s_%s_%s.zip", strings.TrimPrefix(version, "v"), goos, goarch)
		sum, err := writeZip(filepath.Join(out, name), bin, exe)
		if err != nil {
			return fmt.Errorf("archive %s: %w", t, err)
		}
		sums[name] = sum
		fmt.Fprintf(os.Stderr, "%s  %s (%.1fs)\n", name, sum[:12], time.Since(start).Seconds())
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return os.WriteFile(filepath.Join(out, "SHA256SUMS"), b.Bytes(), 0o644)
}

// writeZip writes the archive at path: the binary (executable) and the
// extras, under a fixed time so that the same build makes the same bytes.
// It returns the archive's SHA-256.
func writeZip(path, bin, exe string) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	zw := zip.NewWriter(io.MultiWriter(f, h))
	stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(src, name string, mode os.FileMode) error {
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: stamp}
		hdr.SetMode(mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		r, err := os.Open(src)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	}
	err = add(bin, exe, 0o755)
	for _, x := range extras {
		if err == nil {
			err = add(x, x, 0o644)
		}
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
