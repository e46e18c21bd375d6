package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/topology"
)

// docker-compose.yml is parsed with the Compose specification's own loader
// and every cropstream command in it is parsed by this CLI: flags exist,
// stages are real, and the addresses point at the services and ports the
// file declares.
func TestComposeFileMatchesCLI(t *testing.T) {
	ctx := context.Background()
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  repo,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(repo, "docker-compose.yml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("cropstream", true); o.SkipResolveEnvironment = true })
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	images := map[string]string{"kafka": "apache/kafka:", "clickhouse": "clickhouse/clickhouse-server:",
		"pyroscope": "grafana/pyroscope:", "grafana": "grafana/grafana:", "prometheus": "prom/prometheus:"}
	for name, prefix := range images {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if !strings.HasPrefix(s.Image, prefix) {
			t.Errorf("%s image %q, want %s...", name, s.Image, prefix)
		}
	}
	if v := p.Services["kafka"].Environment["KAFKA_PROCESS_ROLES"]; v == nil || !strings.Contains(*v, "controller") {
		t.Errorf("kafka is not in KRaft mode: KAFKA_PROCESS_ROLES=%v", v)
	}
	kafkaInternal := ""
	if v := p.Services["kafka"].Environment["KAFKA_ADVERTISED_LISTENERS"]; v != nil {
		for _, l := range strings.Split(*v, ",") {
			if strings.HasPrefix(l, "INTERNAL://") {
				kafkaInternal = strings.TrimPrefix(l, "INTERNAL://")
			}
		}
	}
	if mb := p.Services["kafka"].Environment["KAFKA_MESSAGE_MAX_BYTES"]; mb == nil {
		t.Error("kafka: KAFKA_MESSAGE_MAX_BYTES must fit the frames topic's records")
	} else if top, _ := topology.New(topology.Config{}); top != nil {
		if n, _ := strconv.Atoi(*mb); n < top.MaxRecordBytes() {
			t.Errorf("kafka message.max.bytes %d < topology's record limit %d", n, top.MaxRecordBytes())
		}
	}
	exposes := func(service string, port int) bool {
		for _, pc := range p.Services[service].Ports {
			if int(pc.Target) == port {
				return true
			}
		}
		return false
	}
	hostPort := func(t *testing.T, what, addr string) (string, int) {
		t.Helper()
		addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
		h, ps, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("%s %q: %v", what, addr, err)
			return "", 0
		}
		port, _ := strconv.Atoi(ps)
		return h, port
	}

	stagesSeen := map[string]int{}
	metricsPorts := map[int]bool{}
	for name, s := range p.Services {
		if !strings.HasPrefix(s.Image, "cropstream") {
			continue
		}
		args := []string(s.Command)
		root := newRoot()
		cmd, rest, err := root.Find(args)
		if err != nil || cmd == root {
			t.Errorf("%s: command %v is not a cropstream command: %v", name, args, err)
			continue
		}
		if err := cmd.ParseFlags(args); err != nil {
			t.Errorf("%s: %v: %v", name, args, err)
			continue
		}
		_ = rest
		f := cmd.Flags()
		if b, _ := f.GetString("brokers"); b != "" && b != kafkaInternal {
			t.Errorf("%s: --brokers %s, kafka advertises %s inside the network", name, b, kafkaInternal)
		}
		if addrs, err := f.GetStringSlice("clickhouse"); err == nil {
			for _, a := range addrs {
				if h, port := hostPort(t, name+" --clickhouse", a); h != "clickhouse" || !exposes("clickhouse", port) {
					t.Errorf("%s: --clickhouse %s is not the clickhouse service's native port", name, a)
				}
			}
		}
		if u, err := f.GetString("pyroscope-url"); err == nil && u != "" {
			if h, port := hostPort(t, name+" --pyroscope-url", u); h != "pyroscope" || !exposes("pyroscope", port) {
				t.Errorf("%s: --pyroscope-url %s is not the pyroscope service", name, u)
			}
		}
		if cmd.Name() == "run" {
			st, _ := f.GetString("stages")
			for _, x := range strings.Split(st, ",") {
				if !slices.Contains(pipeline.AllStages, x) {
					t.Errorf("%s: unknown stage %q", name, x)
				}
				stagesSeen[x] += s.GetScale()
			}
			if m, _ := f.GetString("metrics-addr"); m != "" {
				_, port := hostPort(t, name+" --metrics-addr", m)
				metricsPorts[port] = true
			}
		}
	}
	for _, st := range pipeline.AllStages {
		if stagesSeen[st] < 1 {
			t.Errorf("no service runs stage %s", st)
		}
	}

	// Prometheus scrapes every stage service on the port they serve.
	var prom struct {
		ScrapeConfigs []struct {
			DNS []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	b, err := os.ReadFile(filepath.Join(repo, "deploy", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prom); err != nil {
		t.Fatal(err)
	}
	scraped := map[string]bool{}
	for _, sc := range prom.ScrapeConfigs {
		for _, d := range sc.DNS {
			if !metricsPorts[d.Port] {
				t.Errorf("prometheus scrapes port %d; stages serve metrics on %v", d.Port, metricsPorts)
			}
			for _, n := range d.Names {
				scraped[n] = true
			}
		}
	}
	for _, st := range pipeline.AllStages {
		if !scraped[st] {
			t.Errorf("prometheus does not scrape %s", st)
		}
	}
	// Grafana's dashboard is valid JSON and queries the rollups.
	db, err := os.ReadFile(filepath.Join(repo, "deploy", "grafana", "dashboards", "cropstream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(db, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, r := range []string{"yield_latest", "objects_per_camera_hour", "objects_per_block_day"} {
		if !strings.Contains(string(db), r) {
			t.Errorf("dashboard does not show %s", r)
		}
	}
}
