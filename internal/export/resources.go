package export

import (
	"math"
	"strconv"

	"github.com/ebb-run/ebb/config"
)

// GPUResource is the extended resource a GPU replica asks for.
const GPUResource = "nvidia.com/gpu"

// resources maps [cerebrium.hardware] onto a container's requests and
// limits. CPU and memory are requested and limited alike, so a replica gets
// what the config names and no more (the Guaranteed QoS class); memory in GB
// is read as GiB and rounded to whole MiB. GPUs are an extended resource and
// are set as a limit only (Kubernetes copies it to the request).
func resources(hw config.Hardware) resourceRequirements {
	list := resourceList{}
	if hw.CPU > 0 {
		list["cpu"] = milliQuantity(int64(math.Round(hw.CPU * 1000)))
	}
	if hw.Memory > 0 {
		list["memory"] = bytesQuantity(int64(math.Round(hw.Memory*1024)) << 20)
	}
	var req resourceRequirements
	if len(list) > 0 {
		req.Requests = list
		req.Limits = resourceList{}
		for k, v := range list {
			req.Limits[k] = v
		}
	}
	if hw.GPUCount > 0 {
		if req.Limits == nil {
			req.Limits = resourceList{}
		}
		req.Limits[GPUResource] = milliQuantity(int64(hw.GPUCount) * 1000)
	}
	return req
}

// milliQuantity is m thousandths in a Kubernetes quantity's canonical
// decimal form, as the API server would print it: the largest of the
// suffixes m, "", k, M, G, T, P, E that keeps the number whole ("500m",
// "2", "1500m", "3k").
func milliQuantity(m int64) string {
	if m == 0 {
		return "0"
	}
	suffixes := []string{"m", "", "k", "M", "G", "T", "P", "E"}
	i := 0
	for i < len(suffixes)-1 && m%1000 == 0 {
		m /= 1000
		i++
	}
	return strconv.FormatInt(m, 10) + suffixes[i]
}

// bytesQuantity is n bytes in a Kubernetes quantity's canonical binary
// form: the largest of the suffixes Ki, Mi, Gi, Ti, Pi, Ei that keeps the
// number whole ("512Mi", "16Gi", "15872Mi"); below 1 Ki, and for what no
// suffix divides, the plain number.
func bytesQuantity(n int64) string {
	if n > -1024 && n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	suffixes := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	i := 0
	for i < len(suffixes)-1 && n%1024 == 0 {
		n /= 1024
		i++
	}
	return strconv.FormatInt(n, 10) + suffixes[i]
}
