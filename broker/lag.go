package broker

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
)

// PartitionLag is one row of `cropstream lag`: what kafka-consumer-groups
// --describe shows.
type PartitionLag struct {
	Group     string `json:"group"`
	State     string `json:"state"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"` // -1 when nothing is committed
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	Member    string `json:"member"` // member id, "" when the group is empty
	ClientID  string `json:"client_id"`
	Host      string `json:"host"`
}

// GroupLag lists lag per partition for groups, or for every group on the
// cluster when groups is empty. Rows are sorted by group, topic, partition.
func GroupLag(ctx context.Context, adm *kadm.Client, groups ...string) ([]PartitionLag, error) {
	if len(groups) == 0 {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		groups = listed.Groups()
	}
	if len(groups) == 0 {
		return nil, nil
	}
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return nil, fmt.Errorf("group lag: %w", err)
	}
	var rows []PartitionLag
	for _, g := range lags {
		if err := g.Error(); err != nil {
			return nil, fmt.Errorf("lag of group %s: %w", g.Group, err)
		}
		for topic, parts := range g.Lag {
			for p, l := range parts {
				r := PartitionLag{Group: g.Group, State: g.State, Topic: topic, Partition: p,
					Committed: l.Commit.At, End: l.End.Offset, Lag: l.Lag}
				if l.Member != nil {
					r.Member, r.ClientID, r.Host = l.Member.MemberID, l.Member.ClientID, l.Member.ClientHost
				}
				rows = append(rows, r)
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return rows, nil
}

// TotalLag sums lag per group, for progress views and metrics.
func TotalLag(rows []PartitionLag) map[string]int64 {
	m := map[string]int64{}
	for _, r := range rows {
		if r.Lag > 0 {
			m[r.Group] += r.Lag
		}
	}
	return m
}
