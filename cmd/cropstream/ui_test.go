package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// uiScenario is smallScenario with enough plants for the five sample plants
// the yield is calibrated on.
var uiScenario = strings.Replace(smallScenario, "plants_per_row: 2", "plants_per_row: 4", 1)

// chromium finds the browser for the page tests: skipped where it is not
// installed, except in CI (scripts/setup.sh installs it there).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI must run the browser test: run scripts/setup.sh (apt-get install chromium)")
	}
	t.Skip("chromium is not installed: apt-get install chromium (scripts/setup.sh) to run the browser test")
	return ""
}

// uiRun is `cropstream run --scenario` serving its page until interrupted.
type uiRun struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	url    chan string
}

func startUIRun(t *testing.T, dir string, extra ...string) *uiRun {
	t.Helper()
	args := append([]string{"--data-dir", "data", "run", "--scenario", "small.yaml", "--model", shippedModel(),
		"--metrics-addr", "", "--ui", "127.0.0.1:0", "--ui-hold"}, extra...)
	r := &uiRun{cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, url: make(chan string, 1)}
	r.cmd.Dir = dir
	r.cmd.Stdout = r.stdout
	pr, pw := io.Pipe()
	r.cmd.Stderr = pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlRe := regexp.MustCompile(`serving live page" url=(\S+)`)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.stderr.Write(append(sc.Bytes(), '\n'))
			if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
				r.url <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		pw.Close()
	})
	return r
}

// printedCount is the block's count in run's report, or -1 before it prints.
func printedCount(stdout, block string) int {
	for _, l := range strings.Split(stdout, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[0] == "block" && f[1] == block {
			n, err := strconv.Atoi(f[3])
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// stop interrupts the run as a user would and checks it ends cleanly.
func (r *uiRun) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGINT: %v\n%s", err, r.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("run did not stop within 20 s of SIGINT")
	}
}

// TestLivePageInBrowser opens run's page in headless chromium while a small
// field runs, and waits until it shows a frame with boxes and the block's
// count the run prints. CROPSTREAM_SCREENSHOT=path.png keeps the screenshot
// (and path-running.png one taken while the field ran, when the page showed a
// frame with many boxes then).
func TestLivePageInBrowser(t *testing.T) {
	chrome := chromium(t)
	dir := scenarioDir(t, uiScenario)
	r := startUIRun(t, dir)
	var url string
	select {
	case url = <-r.url:
	case <-time.After(60 * time.Second):
		t.Fatalf("no page served within 60 s\n%s", r.stderr.String())
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1100, 600), chromedp.UserDataDir(filepath.Join(dir, "chrome")))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	// The first action starts the browser, which lives as long as that
	// action's context: no timeout on it.
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	// What the page shows: the most boxes any camera frame had, and the
	// block's count and whether it is final.
	type shown struct {
		Boxes int    `json:"boxes"`
		Count string `json:"count"`
		Final string `json:"final"`
		Seq   string `json:"seq"`
	}
	const probe = `(() => {
		const cv = [...document.querySelectorAll("canvas")].map(c => +(c.dataset.boxes || 0));
		const c = document.querySelector('.count[data-block="T1"]');
		const s = document.querySelector("canvas");
		return {boxes: Math.max(0, ...cv), count: c ? c.textContent : "", final: c ? c.dataset.final : "", seq: s ? (s.dataset.seq || "") : ""};
	})()`
	var (
		got      shown
		maxBoxes int
		printed  = -1
		// live is a screenshot while the field runs, of a frame with many
		// boxes (taken when the page shows one; the README shows it).
		live []byte
	)
	deadline := time.Now().Add(80 * time.Second)
	for {
		var err error
		if got, err = chromedp.Run(ctx, chromedp.Evaluate[shown](probe)); err != nil {
			t.Fatalf("read page: %v", err)
		}
		maxBoxes = max(maxBoxes, got.Boxes)
		printed = printedCount(r.stdout.String(), "T1")
		if live == nil && got.Boxes >= 20 && printed < 0 {
			live, _ = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		if got.Boxes > 0 && printed >= 0 && got.Count == strconv.Itoa(printed) && got.Final == "true" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page shows %+v (most boxes %d), run printed count %d\nstdout:\n%s\nstderr:\n%s", got, maxBoxes, printed, r.stdout.String(), r.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if printed == 0 {
		t.Fatalf("the run counted nothing:\n%s", r.stdout.String())
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if p := os.Getenv("CROPSTREAM_SCREENSHOT"); p != "" {
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if live != nil {
			if err := os.WriteFile(strings.TrimSuffix(p, ".png")+"-running.png", live, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("page: frame seq %s, %d boxes at most, block T1 counted %s (final), as printed; screenshot %d bytes", got.Seq, maxBoxes, got.Count, len(shot))
	cancel()
	r.stop(t)
	if err := pageWarning(r); err != "" {
		t.Error(err)
	}
}

// pageWarning reports a warning the page's server or its readers logged.
func pageWarning(r *uiRun) string {
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.Contains(l, "level=WARN") && (strings.Contains(l, "live page") || strings.Contains(l, "dashboard")) {
			return fmt.Sprintf("page server warned: %s", l)
		}
	}
	return ""
}
