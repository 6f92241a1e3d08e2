package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

func main() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	resp, err := http.Get(base + "next")
	if err != nil {
		panic(err)
	}
	event, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	out := map[string]interface{}{"event": json.RawMessage(event)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sum := 0
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			time.Sleep(time.Millisecond)
			mu.Lock()
			sum += n
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	out["goroutines"] = sum
	child, err := exec.Command("/bin/sh", "-c", "echo $((6*7))").Output()
	if err != nil {
		panic(err)
	}
	out["child"] = strings.TrimSpace(string(child))
	if err := os.WriteFile("/tmp/go.txt", []byte("written"), 0o600); err != nil {
		panic(err)
	}
	data, _ := os.ReadFile("/tmp/go.txt")
	out["tmp"] = string(data)
	ifaces, err := net.Interfaces()
	if err != nil {
		panic(err)
	}
	out["ifaces"] = len(ifaces)
	out["procs"] = runtime.GOMAXPROCS(0) > 0
	runtime.GC()
	body, _ := json.Marshal(out)
	r, err := http.Post(base+id+"/response", "application/json", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	r.Body.Close()
}
