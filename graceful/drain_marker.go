package graceful

// DrainHeader marks a response that the server produced without processing
// the request, because it is draining or its queue is full. A router that
// sees it on a 503 knows the request had no effect and may retry it on
// another replica.
const DrainHeader = "X-Ebb-Drain"
