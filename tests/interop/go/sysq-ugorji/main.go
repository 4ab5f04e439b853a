// SPDX-License-Identifier: ISC

// sysq-ugorji - talks to sysqd through the msgpack-rpc client of Go's
// github.com/ugorji/go/codec (codec.MsgpackSpecRpc over net/rpc), as a Go
// user would, and checks what comes back.  Driven by
// tests/interop/test_thirdparty.py:
//
//	sysq-ugorji -socket PATH -strings raw|bin SCENARIO
//
// -strings raw: the old msgpack spec (WriteExt off): strings go out as raw.
// -strings bin: the new spec with StringToRaw: method names and map keys go
// out as msgpack bin.  Prints one line per check; exits 1 on the first
// failure, saying what was expected and what came.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"reflect"
	"sync"

	"github.com/ugorji/go/codec"
)

var (
	socket  = flag.String("socket", "", "sysqd's socket")
	strMode = flag.String("strings", "bin", "how strings are encoded: raw (old spec) or bin")
)

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", a...)
	os.Exit(1)
}

func handle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.MapType = reflect.TypeOf(map[string]interface{}(nil))
	h.RawToString = true
	switch *strMode {
	case "raw":
		h.WriteExt = false
	case "bin":
		h.WriteExt = true
		h.StringToRaw = true
	default:
		fail("unknown -strings %q", *strMode)
	}
	return h
}

func dial(h *codec.MsgpackHandle) (net.Conn, *rpc.Client) {
	conn, err := net.Dial("unix", *socket)
	if err != nil {
		fail("connect %s: %v", *socket, err)
	}
	return conn, rpc.NewClientWithCodec(codec.MsgpackSpecRpc.ClientCodec(conn, h))
}

// params is sysq's [{name: value}]: net/rpc's one argument becomes params[0].
type params map[string]interface{}

func call(c *rpc.Client, method string, p params) (interface{}, error) {
	var reply interface{}
	var arg interface{}
	if p != nil {
		arg = p
	}
	err := c.Call(method, arg, &reply)
	return reply, err
}

func mustCall(c *rpc.Client, method string, p params) interface{} {
	r, err := call(c, method, p)
	if err != nil {
		fail("%s: %v", method, err)
	}
	return r
}

func field(r interface{}, key string) interface{} {
	m, ok := r.(map[string]interface{})
	if !ok {
		fail("result is a %T, not a map: %v", r, r)
	}
	return m[key]
}

func asInt(v interface{}) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	}
	fail("%v is a %T, not an integer", v, v)
	return 0
}

func scenarioCalls(c *rpc.Client) {
	if r := mustCall(c, "sys.ping", nil); r != "pong" {
		fail("sys.ping answered %v", r)
	}
	fmt.Println("ok sys.ping")
	hello := mustCall(c, "sys.hello", nil)
	if field(hello, "server") != "sysqd" {
		fail("sys.hello: server is %v", field(hello, "server"))
	}
	if pid := asInt(field(field(hello, "peer"), "pid")); pid != int64(os.Getpid()) {
		fail("sys.hello: peer pid %d, mine is %d", pid, os.Getpid())
	}
	fmt.Println("ok sys.hello")
	// a params map: its keys go out as the library encodes strings
	st := mustCall(c, "fs.stat", params{"path": "/"})
	if field(st, "mountpoint") != "/" {
		fail("fs.stat /: %v", st)
	}
	fmt.Println("ok fs.stat with params")
}

// sysq's error is a map {code, message}; the msgpack-rpc spec lets an error
// be any object, but ugorji's client decodes it into a Go string, so there
// the reply reaches the caller as an error that does not name the errno, and
// net/rpc then shuts that client down.  So each case is checked twice: the
// call through MsgpackSpecRpc must fail (with the reply read, not with the
// connection gone), and the same request written and read with the
// library's own msgpack Encoder and Decoder must give the code.
func expectError(h *codec.MsgpackHandle, method interface{}, p params, code string) {
	args := []interface{}{}
	if p != nil {
		args = []interface{}{p}
	}
	if name, ok := method.(string); ok {
		_, c := dial(h)
		r, err := call(c, name, p)
		c.Close()
		if err == nil {
			fail("%s %v: succeeded (%v), expected %s", name, p, r, code)
		}
		if err == rpc.ErrShutdown || err == io.EOF || err == io.ErrUnexpectedEOF {
			fail("%s %v: the connection ended (%v) instead of an error reply", name, p, err)
		}
		fmt.Printf("ok %s through net/rpc: an error (%v)\n", name, err)
	}

	conn, err := net.Dial("unix", *socket)
	if err != nil {
		fail("connect %s: %v", *socket, err)
	}
	defer conn.Close()
	if err := codec.NewEncoder(conn, h).Encode([]interface{}{0, 7, method, args}); err != nil {
		fail("encoding the request: %v", err)
	}
	var reply []interface{}
	if err := codec.NewDecoder(conn, h).Decode(&reply); err != nil {
		fail("%v %v: reading the reply: %v", method, p, err)
	}
	if len(reply) != 4 || asInt(reply[0]) != 1 || asInt(reply[1]) != 7 {
		fail("%v %v: reply %v is not [1, 7, error, result]", method, p, reply)
	}
	if got := field(reply[2], "code"); got != code {
		fail("%v %v: error %v, expected %s", method, p, reply[2], code)
	}
	fmt.Printf("ok %v -> %v: %v\n", method, code, field(reply[2], "message"))
}

func scenarioErrors(h *codec.MsgpackHandle) {
	expectError(h, "fs.stat", params{"path": "/nonexistent/sysq-interop"}, "ENOENT")
	expectError(h, "sys.ping", params{"nonsense": true}, "EINVAL")
	expectError(h, "no.such.method", nil, "ENOSYS")
	if *strMode == "bin" { // a name that is not UTF-8 (only bin can say so)
		expectError(h, []byte{'s', 'y', 0xff, '.'}, nil, "EINVAL")
	}
	_, c := dial(h)
	defer c.Close()
	if r := mustCall(c, "sys.ping", nil); r != "pong" {
		fail("sys.ping after errors answered %v", r)
	}
	fmt.Println("ok sysqd answers after the errors")
}

// Many calls in flight at once from many goroutines on one connection:
// net/rpc matches the replies by msgid, in whatever order they come.
func scenarioPipeline(c *rpc.Client) {
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan string, n)
	calls := make([]*rpc.Call, n)
	for i := 0; i < n; i++ {
		var reply interface{}
		if i%5 == 0 {
			calls[i] = c.Go("proc.get", params{"pid": os.Getpid()}, &reply, nil)
		} else {
			calls[i] = c.Go("sys.ping", nil, &reply, nil)
		}
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			done := <-calls[i].Done
			if done.Error != nil {
				errs <- fmt.Sprintf("call %d: %v", i, done.Error)
				return
			}
			r := *done.Reply.(*interface{})
			if i%5 == 0 {
				if m, ok := r.(map[string]interface{}); !ok || asInt(m["pid"]) != int64(os.Getpid()) {
					errs <- fmt.Sprintf("call %d (proc.get): %v", i, r)
				}
			} else if r != "pong" {
				errs <- fmt.Sprintf("call %d (sys.ping): %v", i, r)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		fail("%s", e)
	}
	fmt.Printf("ok %d pipelined calls\n", n)
}

// net/rpc has no notifications; the library's encoder writes one, as a
// session opener would, between calls on the same connection.
func scenarioNotify(conn net.Conn, c *rpc.Client, h *codec.MsgpackHandle) {
	mustCall(c, "sys.ping", nil)
	enc := codec.NewEncoder(conn, h)
	for _, note := range [][]interface{}{
		{2, "session.hello", []interface{}{map[string]interface{}{"client": "ugorji"}}},
		{2, "nvim_subscribe", []interface{}{"event"}},
	} {
		if err := enc.Encode(note); err != nil {
			fail("sending notification %v: %v", note[1], err)
		}
	}
	if r := mustCall(c, "sys.ping", nil); r != "pong" {
		fail("sys.ping after the notifications answered %v", r)
	}
	fmt.Println("ok notifications ignored, the connection still answers")
}

func main() {
	flag.Parse()
	if *socket == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: sysq-ugorji -socket PATH [-strings raw|bin] calls|errors|pipeline|notify")
		os.Exit(2)
	}
	h := handle()
	conn, c := dial(h)
	defer c.Close()
	switch flag.Arg(0) {
	case "calls":
		scenarioCalls(c)
	case "errors":
		scenarioErrors(h)
	case "pipeline":
		scenarioPipeline(c)
	case "notify":
		scenarioNotify(conn, c, h)
	default:
		fail("unknown scenario %q", flag.Arg(0))
	}
}
