// Package k8s holds cropstream's Kubernetes manifests (the YAML files beside
// this one; README.md says how to apply them) and their test, which decodes
// every manifest strictly with the Kubernetes API types and checks each
// stage's Deployment and KEDA ScaledObject against the topology: its
// consumer group, its input topic, and no more replicas than that topic has
// partitions. There is no Go code to import here.
package k8s
