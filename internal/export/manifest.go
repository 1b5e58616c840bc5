package export

import (
	"encoding/json"
	"strconv"
)

// The Kubernetes objects ebb writes, as local structs holding only the
// fields ebb sets. Their JSON is that of the k8s.io/api types of the same
// names (the tests decode every export into those types, strictly, and
// compare); they are local so that the ebb binary does not link the
// Kubernetes API packages, whose initialisation alone costs every `ebb`
// process, `ebb run` included, about 4 MB of resident memory.

// Object is one exported object: a struct above, rendered by YAML.
type Object interface {
	// GetKind is the object's kind, as in its manifest.
	GetKind() string
}

// typeMeta is an object's apiVersion and kind.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func (m typeMeta) GetKind() string { return m.Kind }

// object is a Kubernetes object ebb writes: its kind, metadata and spec.
type object[S any] struct {
	typeMeta `json:",inline"`
	Metadata objectMeta `json:"metadata"`
	Spec     S          `json:"spec"`
}

type objectMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// intOrString is a Kubernetes IntOrString: a number or a name (of a port).
type intOrString struct {
	num  int32
	name string
}

func intValue(n int32) intOrString   { return intOrString{num: n} }
func nameValue(s string) intOrString { return intOrString{name: s} }

func (v intOrString) MarshalJSON() ([]byte, error) {
	if v.name != "" {
		return json.Marshal(v.name)
	}
	return strconv.AppendInt(nil, int64(v.num), 10), nil
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// service is a core/v1 Service.
type service = object[serviceSpec]

type serviceSpec struct {
	Ports    []servicePort     `json:"ports,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
}

type servicePort struct {
	Name       string      `json:"name,omitempty"`
	Protocol   string      `json:"protocol,omitempty"`
	Port       int32       `json:"port"`
	TargetPort intOrString `json:"targetPort"`
}

// deployment is an apps/v1 Deployment.
type deployment = object[deploymentSpec]

type deploymentSpec struct {
	Replicas                *int32             `json:"replicas,omitempty"`
	Selector                *labelSelector     `json:"selector"`
	Template                podTemplateSpec    `json:"template"`
	Strategy                deploymentStrategy `json:"strategy"`
	ProgressDeadlineSeconds *int32             `json:"progressDeadlineSeconds,omitempty"`
}

type deploymentStrategy struct {
	Type          string                   `json:"type,omitempty"`
	RollingUpdate *rollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

type rollingUpdateDeployment struct {
	MaxUnavailable *intOrString `json:"maxUnavailable,omitempty"`
	MaxSurge       *intOrString `json:"maxSurge,omitempty"`
}

type podTemplateSpec struct {
	Metadata objectMeta `json:"metadata"`
	Spec     podSpec    `json:"spec"`
}

type podSpec struct {
	Containers                    []container `json:"containers"`
	TerminationGracePeriodSeconds *int64      `json:"terminationGracePeriodSeconds,omitempty"`
}

// container is a core/v1 Container.
type container struct {
	Name           string               `json:"name"`
	Image          string               `json:"image,omitempty"`
	Command        []string             `json:"command,omitempty"`
	Args           []string             `json:"args,omitempty"`
	Ports          []containerPort      `json:"ports,omitempty"`
	Resources      resourceRequirements `json:"resources"`
	LivenessProbe  *probe               `json:"livenessProbe,omitempty"`
	ReadinessProbe *probe               `json:"readinessProbe,omitempty"`
	StartupProbe   *probe               `json:"startupProbe,omitempty"`
}

type containerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
}

// resourceList maps a resource name to a quantity in its canonical form
// (see resources.go).
type resourceList map[string]string

type resourceRequirements struct {
	Limits   resourceList `json:"limits,omitempty"`
	Requests resourceList `json:"requests,omitempty"`
}

type probe struct {
	HTTPGet          *httpGetAction   `json:"httpGet,omitempty"`
	TCPSocket        *tcpSocketAction `json:"tcpSocket,omitempty"`
	TimeoutSeconds   int32            `json:"timeoutSeconds,omitempty"`
	PeriodSeconds    int32            `json:"periodSeconds,omitempty"`
	SuccessThreshold int32            `json:"successThreshold,omitempty"`
	FailureThreshold int32            `json:"failureThreshold,omitempty"`
}

type httpGetAction struct {
	Path string      `json:"path,omitempty"`
	Port intOrString `json:"port"`
}

type tcpSocketAction struct {
	Port intOrString `json:"port"`
}

// podDisruptionBudget is a policy/v1 PodDisruptionBudget.
type podDisruptionBudget = object[pdbSpec]

type pdbSpec struct {
	Selector                   *labelSelector `json:"selector,omitempty"`
	MaxUnavailable             *intOrString   `json:"maxUnavailable,omitempty"`
	UnhealthyPodEvictionPolicy string         `json:"unhealthyPodEvictionPolicy,omitempty"`
}

// horizontalPodAutoscaler is an autoscaling/v2 HorizontalPodAutoscaler.
type horizontalPodAutoscaler = object[hpaSpec]

type hpaSpec struct {
	ScaleTargetRef crossVersionObjectReference `json:"scaleTargetRef"`
	MinReplicas    *int32                      `json:"minReplicas,omitempty"`
	MaxReplicas    int32                       `json:"maxReplicas"`
	Metrics        []metricSpec                `json:"metrics,omitempty"`
	Behavior       *hpaBehavior                `json:"behavior,omitempty"`
}

type crossVersionObjectReference struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion,omitempty"`
}

type metricSpec struct {
	Type     string                `json:"type"`
	Resource *resourceMetricSource `json:"resource,omitempty"`
}

type resourceMetricSource struct {
	Name   string       `json:"name"`
	Target metricTarget `json:"target"`
}

type metricTarget struct {
	Type               string `json:"type"`
	AverageUtilization *int32 `json:"averageUtilization,omitempty"`
}

type hpaBehavior struct {
	ScaleDown *hpaScalingRules `json:"scaleDown,omitempty"`
}

type hpaScalingRules struct {
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty"`
}

// knativeService is the part of a serving.knative.dev/v1 Service that ebb
// writes; its JSON matches Knative's own types.
type knativeService = object[knativeServiceSpec]

type knativeServiceSpec struct {
	Template knativeRevisionTemplate `json:"template"`
}

type knativeRevisionTemplate struct {
	Metadata objectMeta          `json:"metadata"`
	Spec     knativeRevisionSpec `json:"spec"`
}

type knativeRevisionSpec struct {
	ContainerConcurrency *int64      `json:"containerConcurrency,omitempty"`
	TimeoutSeconds       *int64      `json:"timeoutSeconds,omitempty"`
	Containers           []container `json:"containers"`
}
