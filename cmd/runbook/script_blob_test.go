package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/runbook-dev/runbook/internal/azuritetest"
)

// blob get PATTERN FILE | put FILE PATTERN | truncate PATTERN N works on
// the one blob of the script's container (see azurite) whose name matches
// PATTERN (path.Match: '*' does not cross '/'), through the blob API, as
// someone with write access to the container could: get copies it to
// FILE, put replaces it with FILE's bytes (Put Blob), truncate replaces it
// with all but its last N lines, and wait waits until a blob matching
// PATTERN holds a match of REGEXP.
func cmdBlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! blob")
	}
	if len(args) != 3 || (args[0] != "get" && args[0] != "put" && args[0] != "truncate" && args[0] != "wait") {
		ts.Fatalf("usage: blob get PATTERN FILE | blob put FILE PATTERN | blob truncate PATTERN N | blob wait PATTERN REGEXP")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := azuritetest.Lazy()
	ts.Check(err)
	client, err := s.Client()
	ts.Check(err)
	c := client.ServiceClient().NewContainerClient(ts.Getenv("AZURITE_CONTAINER"))
	if args[0] == "wait" {
		waitBlob(ts, c, args[1], args[2])
		return
	}
	pattern := args[1]
	if args[0] == "put" {
		pattern = args[2]
	}
	name := matchBlob(ts, ctx, c, pattern)
	switch args[0] {
	case "get":
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), downloadBlob(ts, ctx, c, name), 0o644))
	case "put":
		data, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		uploadBlob(ts, ctx, client, name, data)
	case "truncate":
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		lines := bytes.SplitAfter(downloadBlob(ts, ctx, c, name), []byte("\n"))
		lines = lines[:len(lines)-1] // the empty rest after the last newline
		if n > len(lines) {
			ts.Fatalf("%s has %d lines, fewer than %d", name, len(lines), n)
		}
		uploadBlob(ts, ctx, client, name, bytes.Join(lines[:len(lines)-n], nil))
	}
}

// waitBlob waits until a blob of the script's container whose name
// matches pattern holds a match of re: unlike waitfor on $AZURITE_DATA,
// which every script's journals share, it sees this script's blobs only.
func waitBlob(ts *testscript.TestScript, c *container.Client, pattern, expr string) {
	re := regexp.MustCompile(expr)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		found := false
		pager := c.NewListBlobsFlatPager(nil)
		for pager.More() && !found {
			page, err := pager.NextPage(ctx)
			if err != nil {
				break
			}
			for _, it := range page.Segment.BlobItems {
				if ok, _ := path.Match(pattern, *it.Name); !ok {
					continue
				}
				resp, err := c.NewBlobClient(*it.Name).DownloadStream(ctx, nil)
				if err != nil {
					continue
				}
				data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
				resp.Body.Close()
				if re.Match(data) {
					found = true
					break
				}
			}
		}
		cancel()
		if found {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("no blob matching %s ever held %q", pattern, expr)
}

// matchBlob returns the one blob whose name matches pattern.
func matchBlob(ts *testscript.TestScript, ctx context.Context, c *container.Client, pattern string) string {
	var found []string
	pager := c.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		ts.Check(err)
		for _, it := range page.Segment.BlobItems {
			if ok, _ := path.Match(pattern, *it.Name); ok {
				found = append(found, *it.Name)
			}
		}
	}
	if len(found) != 1 {
		ts.Fatalf("%d blobs match %s, want one: %s", len(found), pattern, strings.Join(found, ", "))
	}
	return found[0]
}

func downloadBlob(ts *testscript.TestScript, ctx context.Context, c *container.Client, name string) []byte {
	resp, err := c.NewBlobClient(name).DownloadStream(ctx, nil)
	ts.Check(err)
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	ts.Check(err)
	return data
}

func uploadBlob(ts *testscript.TestScript, ctx context.Context, client *azblob.Client, name string, data []byte) {
	_, err := client.UploadBuffer(ctx, ts.Getenv("AZURITE_CONTAINER"), name, data, nil)
	if err != nil {
		ts.Fatalf("%v", fmt.Errorf("put %s: %w", name, err))
	}
}
