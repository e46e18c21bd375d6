package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/cropstream/cropstream/topology"
)

// TopicStatus compares one declared topic with the cluster.
type TopicStatus struct {
	Spec       topology.TopicSpec
	Exists     bool
	Created    bool  // created by this call
	Partitions int32 // on the cluster; 0 when missing
	// Diffs are differences between the declaration and the cluster, one line
	// each ("partitions: cluster 12, declared 24").
	Diffs []string
	// Fixed are config diffs this call corrected (EnsureTopics with fixConfigs).
	Fixed []string
}

// OK reports whether the topic exists as declared.
func (s TopicStatus) OK() bool { return s.Exists && len(s.Diffs) == 0 }

// ErrTopicDrift is returned when topics exist with partition counts or configs
// that differ from the topology. Partition counts are never changed
// automatically: adding partitions to a keyed topic moves keys between
// partitions and breaks per-camera order and goka's co-partitioning.
var ErrTopicDrift = errors.New("topics differ from the topology")

// DescribeTopics compares every declared topic with the cluster.
func DescribeTopics(ctx context.Context, adm *kadm.Client, top *topology.Topology) ([]TopicStatus, error) {
	names := top.TopicNames()
	// A direct metadata request: kadm otherwise answers from the client's
	// metadata cache, which does not yet know topics created a moment ago.
	details, err := adm.ListTopics(kadm.WithAuthorizedOps(ctx), names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var existing []string
	for _, n := range names {
		if details.Has(n) {
			existing = append(existing, n)
		}
	}
	configs := map[string]map[string]string{}
	if len(existing) > 0 {
		rcs, err := adm.DescribeTopicConfigs(ctx, existing...)
		if err != nil {
			return nil, fmt.Errorf("describe topic configs: %w", err)
		}
		for _, rc := range rcs {
			if rc.Err != nil {
				return nil, fmt.Errorf("describe configs of %s: %w", rc.Name, rc.Err)
			}
			m := map[string]string{}
			for _, c := range rc.Configs {
				m[c.Key] = c.MaybeValue()
			}
			configs[rc.Name] = m
		}
	}
	out := make([]TopicStatus, 0, len(names))
	for _, spec := range top.Topics {
		st := TopicStatus{Spec: spec}
		d, ok := details[string(spec.Name)]
		if ok && d.Err != nil && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("describe topic %s: %w", spec.Name, d.Err)
		}
		if details.Has(string(spec.Name)) {
			st.Exists = true
			st.Partitions = int32(len(d.Partitions))
			if st.Partitions != spec.Partitions {
				st.Diffs = append(st.Diffs, fmt.Sprintf("partitions: cluster %d, declared %d", st.Partitions, spec.Partitions))
			}
			st.Diffs = append(st.Diffs, configDiffs(spec, configs[string(spec.Name)])...)
		}
		out = append(out, st)
	}
	return out, nil
}

func configDiffs(spec topology.TopicSpec, have map[string]string) []string {
	want := spec.Configs()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		if got, ok := have[k]; !ok || got != want[k] {
			if !ok {
				got = "(unset)"
			}
			diffs = append(diffs, fmt.Sprintf("%s: cluster %s, declared %s", k, got, want[k]))
		}
	}
	return diffs
}

// EnsureTopics creates missing topics as declared and reports the rest. With
// fixConfigs it also sets drifted topic configs; partition differences are
// only reported. It returns ErrTopicDrift (with the statuses) when a
// difference remains.
func EnsureTopics(ctx context.Context, adm *kadm.Client, top *topology.Topology, fixConfigs bool) ([]TopicStatus, error) {
	sts, err := DescribeTopics(ctx, adm, top)
	if err != nil {
		return nil, err
	}
	drift := false
	for i := range sts {
		st := &sts[i]
		if !st.Exists {
			if err := createTopic(ctx, adm, top, st.Spec); err != nil {
				return sts, err
			}
			st.Exists, st.Created, st.Partitions = true, true, st.Spec.Partitions
			continue
		}
		if fixConfigs {
			if err := fixTopicConfigs(ctx, adm, st); err != nil {
				return sts, err
			}
		}
		if len(st.Diffs) > 0 {
			drift = true
		}
	}
	if drift {
		return sts, ErrTopicDrift
	}
	return sts, nil
}

func createTopic(ctx context.Context, adm *kadm.Client, top *topology.Topology, spec topology.TopicSpec) error {
	cfgs := map[string]*string{}
	for k, v := range spec.Configs() {
		cfgs[k] = kadm.StringPtr(v)
	}
	resp, err := adm.CreateTopic(ctx, spec.Partitions, top.Config.Replication, cfgs, string(spec.Name))
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", spec.Name, err)
	}
	if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w %s", spec.Name, resp.Err, resp.ErrMessage)
	}
	return nil
}

func fixTopicConfigs(ctx context.Context, adm *kadm.Client, st *TopicStatus) error {
	var alter []kadm.AlterConfig
	for k, v := range st.Spec.Configs() {
		alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
	}
	resps, err := adm.AlterTopicConfigs(ctx, alter, string(st.Spec.Name))
	if err == nil {
		for _, r := range resps {
			if r.Err != nil {
				err = fmt.Errorf("%w %s", r.Err, r.ErrMessage)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("alter configs of topic %s: %w", st.Spec.Name, err)
	}
	var keep []string
	for _, d := range st.Diffs {
		if strings.HasPrefix(d, "partitions:") {
			keep = append(keep, d)
		} else {
			st.Fixed = append(st.Fixed, d)
		}
	}
	st.Diffs = keep
	return nil
}

// EnsureTopicsExist creates missing topics; drift on existing ones is
// logged, not fatal, for commands whose job is not topic admin.
func EnsureTopicsExist(ctx context.Context, conn *Conn, top *topology.Topology) error {
	adm, cl, err := conn.Admin()
	if err != nil {
		return err
	}
	defer cl.Close()
	sts, err := EnsureTopics(ctx, adm, top, false)
	if errors.Is(err, ErrTopicDrift) {
		for _, st := range sts {
			for _, d := range st.Diffs {
				slog.Warn("topic differs from the topology", "topic", st.Spec.Name, "diff", d)
			}
		}
		return nil
	}
	return err
}
