package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cropstream/cropstream/topology"
)

// scaledObject mirrors the fields of KEDA's ScaledObject (keda.sh/v1alpha1)
// that the manifests may use; decoding disallows any other, so a misspelt
// field fails here rather than being ignored by the cluster.
type scaledObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Triggers        []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			MetricType        string            `json:"metricType,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// kafkaMetadata are the kafka trigger's documented metadata keys
// (https://keda.sh/docs/latest/scalers/apache-kafka/).
var kafkaMetadata = []string{
	"bootstrapServers", "bootstrapServersFromEnv", "consumerGroup", "consumerGroupFromEnv",
	"topic", "topicFromEnv", "lagThreshold", "activationLagThreshold", "offsetResetPolicy",
	"allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag",
	"limitToPartitionsWithLag", "partitionLimitation", "version", "sasl", "tls",
	"unsafeSsl", "saslTokenProvider", "awsRegion",
}

// stages are the Deployments there must be, with their consumer group.
var stages = map[string]topology.Group{
	"detect":    topology.Detect,
	"track":     topology.Track,
	"aggregate": topology.Aggregate,
	"sink":      topology.SinkClickHouse,
	"ingest":    topology.Ingest,
}

// manifests holds every object of the directory's YAML files.
type manifests struct {
	deployments map[string]appsv1.Deployment
	scaled      map[string]scaledObject
	services    map[string]corev1.Service
	configMaps  map[string]corev1.ConfigMap
	namespaces  map[string]corev1.Namespace
}

// strict decodes one YAML document into v, refusing unknown fields.
func strict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func load(t *testing.T, dir string) manifests {
	t.Helper()
	m := manifests{map[string]appsv1.Deployment{}, map[string]scaledObject{}, map[string]corev1.Service{},
		map[string]corev1.ConfigMap{}, map[string]corev1.Namespace{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			where := fmt.Sprintf("%s document %d", filepath.Base(f), i+1)
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var name string
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				var d appsv1.Deployment
				err = strict(doc, &d)
				name, m.deployments[d.Name] = d.Name, d
			case "keda.sh/v1alpha1 ScaledObject":
				var s scaledObject
				err = strict(doc, &s)
				name, m.scaled[s.Metadata.Name] = s.Metadata.Name, s
			case "v1 Service":
				var s corev1.Service
				err = strict(doc, &s)
				name, m.services[s.Name] = s.Name, s
			case "v1 ConfigMap":
				var c corev1.ConfigMap
				err = strict(doc, &c)
				name, m.configMaps[c.Name] = c.Name, c
			case "v1 Namespace":
				var n corev1.Namespace
				err = strict(doc, &n)
				name, m.namespaces[n.Name] = n.Name, n
			default:
				t.Fatalf("%s: %s %s is not a kind this test knows", where, head.APIVersion, head.Kind)
			}
			if err != nil {
				t.Fatalf("%s (%s): %v", where, head.Kind, err)
			}
			if name == "" {
				t.Fatalf("%s: %s without a name", where, head.Kind)
			}
		}
	}
	return m
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// topologyOf is the topology the Deployments run: the defaults, or the
// partition counts their arguments give (every stage must give the same).
func topologyOf(m manifests) (*topology.Topology, error) {
	var cfg topology.Config
	seen := map[string]string{}
	for name, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, f := range []string{"--camera-partitions", "--block-partitions"} {
				v, _ := flagValue(c.Args, f)
				if prev, ok := seen[f]; ok && prev != v {
					return nil, fmt.Errorf("deployment %s: %s %q, another stage runs %q", name, f, v, prev)
				}
				seen[f] = v
			}
		}
	}
	for f, v := range seen {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", f, v, err)
		}
		if f == "--camera-partitions" {
			cfg.CameraPartitions = int32(n)
		} else {
			cfg.BlockPartitions = int32(n)
		}
	}
	return topology.New(cfg)
}

// flagValue is the value of flag in args ("--f v" or "--f=v").
func flagValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// check returns every way the manifests disagree with the topology, the CLI
// or each other.
func check(m manifests) []error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	const ns = "cropstream"
	if _, ok := m.namespaces[ns]; !ok {
		bad("no Namespace %s", ns)
	}
	top, err := topologyOf(m)
	if err != nil {
		return append(errs, err)
	}
	for name := range m.deployments {
		if _, ok := stages[name]; !ok {
			bad("deployment %s is not a stage", name)
		}
	}
	for name := range m.scaled {
		if _, ok := stages[name]; !ok {
			bad("scaledobject %s is not a stage", name)
		}
	}
	for stage, group := range stages {
		d, ok := m.deployments[stage]
		if !ok {
			bad("stage %s: no Deployment", stage)
			continue
		}
		if d.Namespace != ns {
			bad("deployment %s: namespace %q, want %s", stage, d.Namespace, ns)
		}
		if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels) == 0 {
			bad("deployment %s: no selector", stage)
		} else {
			for k, v := range d.Spec.Selector.MatchLabels {
				if d.Spec.Template.Labels[k] != v {
					bad("deployment %s: selector %s=%s does not match the pod's labels", stage, k, v)
				}
			}
		}
		cs := d.Spec.Template.Spec.Containers
		if len(cs) != 1 {
			bad("deployment %s: %d containers, want 1", stage, len(cs))
			continue
		}
		c := cs[0]
		errs = append(errs, checkContainer(m, stage, group, c)...)

		so, ok := m.scaled[stage]
		if !ok {
			bad("stage %s: no ScaledObject", stage)
			continue
		}
		errs = append(errs, checkScaled(top, stage, group, d, c, so)...)
	}
	return errs
}

func checkContainer(m manifests, stage string, group topology.Group, c corev1.Container) []error {
	var errs []error
	bad := func(f string, a ...any) {
		errs = append(errs, fmt.Errorf("deployment %s: "+f, append([]any{stage}, a...)...))
	}
	// The command line, as docker-compose.yml runs each stage.
	addrFlag := "--metrics-addr"
	if group == topology.Ingest {
		addrFlag = "--http-addr"
		if !slices.Contains(c.Args, "ingest") || !slices.Contains(c.Args, "--registry") {
			bad("args %q do not run ingest --registry", c.Args)
		}
	} else if !slices.Contains(c.Args, "run") {
		bad("args %q do not run a stage", c.Args)
	} else if v, _ := flagValue(c.Args, "--stages"); v != stage {
		bad("runs --stages %q, want %s", v, stage)
	}
	if v, _ := flagValue(c.Args, "--brokers"); v == "" {
		bad("no --brokers")
	}
	addr, _ := flagValue(c.Args, addrFlag)
	_, portStr, ok := strings.Cut(addr, ":")
	if !ok || strings.HasPrefix(addr, "127.") || strings.HasPrefix(addr, "localhost") {
		bad("%s %q: probes need a port on every interface (\":PORT\")", addrFlag, addr)
	}
	port, _ := strconv.Atoi(portStr)
	// Every $(VAR) in the arguments must be defined, or Kubernetes passes it
	// through literally.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			ref := e.ValueFrom.ConfigMapKeyRef
			if _, ok := m.configMaps[ref.Name].Data[ref.Key]; !ok {
				bad("env %s: ConfigMap %s has no key %s", e.Name, ref.Name, ref.Key)
			}
		}
	}
	for _, a := range c.Args {
		for rest := a; ; {
			i := strings.Index(rest, "$(")
			if i < 0 {
				break
			}
			j := strings.Index(rest[i:], ")")
			if j < 0 {
				break
			}
			if v := rest[i+2 : i+j]; env[v].Name == "" {
				bad("argument %q uses $(%s), which is not in its env", a, v)
			}
			rest = rest[i+j:]
		}
	}
	// Probes on /healthz and /readyz, at the port the process serves.
	named := map[string]int32{}
	for _, p := range c.Ports {
		named[p.Name] = p.ContainerPort
	}
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			bad("no HTTP %s probe", what)
			return
		}
		got := p.HTTPGet.Port.IntValue()
		if p.HTTPGet.Port.StrVal != "" {
			got = int(named[p.HTTPGet.Port.StrVal])
		}
		if p.HTTPGet.Path != path || got != port {
			bad("%s probe on %s port %d, want %s on %d (%s)", what, p.HTTPGet.Path, got, path, port, addrFlag)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	// Resources: what the scheduler and the CPU trigger go by.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okr := c.Resources.Requests[r]
		lim, okl := c.Resources.Limits[r]
		if !okr || !okl {
			bad("no %s request and limit", r)
		} else if req.Cmp(lim) > 0 {
			bad("%s request %s above its limit %s", r, req.String(), lim.String())
		}
	}
	return errs
}

func checkScaled(top *topology.Topology, stage string, group topology.Group, d appsv1.Deployment, c corev1.Container, so scaledObject) []error {
	var errs []error
	bad := func(f string, a ...any) {
		errs = append(errs, fmt.Errorf("scaledobject %s: "+f, append([]any{stage}, a...)...))
	}
	s := so.Spec
	if so.APIVersion != "keda.sh/v1alpha1" || so.Metadata.Namespace != d.Namespace {
		bad("apiVersion %s, namespace %s; want keda.sh/v1alpha1 in %s", so.APIVersion, so.Metadata.Namespace, d.Namespace)
	}
	if s.ScaleTargetRef.Name != d.Name || (s.ScaleTargetRef.Kind != "" && s.ScaleTargetRef.Kind != "Deployment") {
		bad("targets %s %s, want Deployment %s", s.ScaleTargetRef.Kind, s.ScaleTargetRef.Name, d.Name)
	}
	if s.MinReplicaCount == nil || s.MaxReplicaCount == nil {
		bad("minReplicaCount and maxReplicaCount must be given (KEDA's default maximum is 100)")
		return errs
	}
	lo, hi := *s.MinReplicaCount, *s.MaxReplicaCount
	if lo < 1 || hi < lo {
		bad("replicas %d..%d, want 1 <= min <= max", lo, hi)
	}
	if d.Spec.Replicas != nil && (*d.Spec.Replicas < lo || *d.Spec.Replicas > hi) {
		bad("the Deployment's %d replicas are outside %d..%d", *d.Spec.Replicas, lo, hi)
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	spec := top.Group(group)
	kafka := 0
	for i, tr := range s.Triggers {
		switch tr.Type {
		case "kafka":
			kafka++
		case "cpu", "memory":
			if _, ok := c.Resources.Requests[corev1.ResourceName(tr.Type)]; !ok {
				bad("trigger %d: %s needs a %s request", i, tr.Type, tr.Type)
			}
			continue
		default:
			bad("trigger %d: type %q, want kafka (or cpu, memory)", i, tr.Type)
			continue
		}
		md := tr.Metadata
		for k := range md {
			if !slices.Contains(kafkaMetadata, k) {
				bad("trigger %d: unknown kafka metadata %q", i, k)
			}
		}
		if md["consumerGroup"] != string(group) {
			bad("trigger %d: consumerGroup %q, want the stage's group %s", i, md["consumerGroup"], group)
		}
		topic := topology.Topic(md["topic"])
		if !slices.Contains(spec.Inputs, topic) {
			bad("trigger %d: topic %q is not an input of group %s (%v)", i, topic, group, spec.Inputs)
			continue
		}
		if p := top.Topic(topic).Partitions; hi > p {
			bad("maxReplicaCount %d is above the %d partitions of %s: the pods above %d would sit idle", hi, p, topic, p)
		}
		if md["allowIdleConsumers"] == "true" {
			bad("trigger %d: allowIdleConsumers would scale past the partitions", i)
		}
		if v := md["bootstrapServersFromEnv"]; (v == "") == (md["bootstrapServers"] == "") || (v != "" && !env[v]) {
			bad("trigger %d: brokers must come from bootstrapServers or an env var of the container (bootstrapServersFromEnv %q)", i, v)
		}
		if n, err := strconv.Atoi(md["lagThreshold"]); err != nil || n < 1 {
			bad("trigger %d: lagThreshold %q, want a positive integer", i, md["lagThreshold"])
		}
	}
	if kafka == 0 {
		bad("no kafka trigger on the group's lag")
	}
	return errs
}

func TestManifests(t *testing.T) {
	m := load(t, ".")
	if len(m.deployments) != len(stages) || len(m.scaled) != len(stages) {
		t.Errorf("%d Deployments and %d ScaledObjects, want one of each per stage (%d)", len(m.deployments), len(m.scaled), len(stages))
	}
	for _, err := range check(m) {
		t.Error(err)
	}
}

// TestCheckCatches breaks the manifests in memory in the ways check exists
// to catch, and expects each to be reported.
func TestCheckCatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(m manifests)
		want   string
	}{
		{"max above partitions", func(m manifests) {
			so := m.scaled["detect"]
			so.Spec.MaxReplicaCount = ptr(int32(25))
			m.scaled["detect"] = so
		}, "maxReplicaCount 25 is above the 24 partitions of frames"},
		{"wrong group", func(m manifests) {
			so := m.scaled["track"]
			so.Spec.Triggers[0].Metadata["consumerGroup"] = "detect"
			m.scaled["track"] = so
		}, `consumerGroup "detect", want the stage's group track`},
		{"topic not an input", func(m manifests) {
			m.scaled["aggregate"].Spec.Triggers[0].Metadata["topic"] = "frames"
		}, `topic "frames" is not an input of group aggregate`},
		{"fewer partitions than replicas", func(m manifests) {
			d := m.deployments["aggregate"]
			d.Spec.Template.Spec.Containers[0].Args = append(d.Spec.Template.Spec.Containers[0].Args, "--block-partitions", "4")
			m.deployments["aggregate"] = d
		}, "--block-partitions"},
		{"probe path", func(m manifests) {
			m.deployments["sink"].Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = "/healthz"
		}, "readiness probe on /healthz"},
		{"loopback metrics", func(m manifests) {
			args := m.deployments["track"].Spec.Template.Spec.Containers[0].Args
			args[slices.Index(args, "--metrics-addr")+1] = "127.0.0.1:9464"
		}, "probes need a port on every interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := load(t, ".")
			tc.break_(m)
			var msgs []string
			for _, err := range check(m) {
				msgs = append(msgs, err.Error())
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
				t.Errorf("broken manifests: want an error containing %q, got %q", tc.want, msgs)
			}
		})
	}
}

// TestStrictDecoding: a misspelt field is an error, not ignored.
func TestStrictDecoding(t *testing.T) {
	var d appsv1.Deployment
	if err := strict([]byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 2\n"), &d); err == nil {
		t.Error("Deployment with spec.replica (for replicas) decoded without error")
	}
	var so scaledObject
	if err := strict([]byte("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  maxReplicas: 2\n"), &so); err == nil {
		t.Error("ScaledObject with spec.maxReplicas (for maxReplicaCount) decoded without error")
	}
}

func ptr[T any](v T) *T { return &v }
