package export

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ebb-run/ebb/config"
)

// GPUResource is the extended resource a GPU replica asks for.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// resources maps [cerebrium.hardware] onto a container's requests and
// limits. CPU and memory are requested and limited alike, so a replica gets
// what the config names and no more (the Guaranteed QoS class); memory in GB
// is read as GiB and rounded to whole MiB. GPUs are an extended resource and
// are set as a limit only (Kubernetes copies it to the request).
func resources(hw config.Hardware) corev1.ResourceRequirements {
	list := corev1.ResourceList{}
	if hw.CPU > 0 {
		list[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Round(hw.CPU*1000)), resource.DecimalSI)
	}
	if hw.Memory > 0 {
		mib := int64(math.Round(hw.Memory * 1024))
		list[corev1.ResourceMemory] = *resource.NewQuantity(mib<<20, resource.BinarySI)
	}
	var req corev1.ResourceRequirements
	if len(list) > 0 {
		req.Requests = list
		req.Limits = list.DeepCopy()
	}
	if hw.GPUCount > 0 {
		if req.Limits == nil {
			req.Limits = corev1.ResourceList{}
		}
		req.Limits[GPUResource] = *resource.NewQuantity(int64(hw.GPUCount), resource.DecimalSI)
	}
	return req
}
