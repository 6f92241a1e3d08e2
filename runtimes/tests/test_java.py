"""Java shim: lamina.runtime.Bootstrap (built by runtimes/java/build.sh)."""

import json
import os
import re

import pytest

from shimharness import JAVA, compile_java

SOURCES = {
    "example/Pojo.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;
import java.util.*;

public class Pojo implements RequestHandler<Pojo.Request, Pojo.Response> {
    public static class Request {
        private String name; private int age; public List<String> tags; private Address address;
        public String getName() { return name; } public void setName(String n) { name = n; }
        public int getAge() { return age; } public void setAge(int a) { age = a; }
        public Address getAddress() { return address; } public void setAddress(Address a) { address = a; }
    }
    public record Address(String city, int zip) {}
    public static class Response {
        private String greeting; private Integer count; private String missing; private boolean adult;
        public Address home; public List<String> tags;
        public String getGreeting() { return greeting; }
        public Integer getCount() { return count; }
        public String getMissing() { return missing; }
        public boolean isAdult() { return adult; }
        Response(String g, int c, boolean a) { greeting = g; count = c; adult = a; }
    }
    private int count = 0;
    public Response handleRequest(Request r, Context ctx) {
        count++;
        Response out = new Response("Hello " + r.getName(), count, r.getAge() >= 18);
        out.home = r.getAddress();
        out.tags = r.tags;
        return out;
    }
}
""",
    "example/MapHandler.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;
import java.util.*;

public class MapHandler implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    public Map<String, Object> handleRequest(Map<String, Object> in, Context ctx) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("in", in);
        out.put("keys", new ArrayList<>(in.keySet()));
        out.put("nothing", null);
        out.put("pi", 3.5);
        out.put("unicode", "h\\u00e9llo");
        return out;
    }
}
""",
    "example/Stream.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;
import java.io.*;

public class Stream implements RequestStreamHandler {
    public void handleRequest(InputStream in, OutputStream out, Context ctx) throws IOException {
        byte[] data = in.readAllBytes();
        out.write("raw:".getBytes());
        out.write(data);
    }
}
""",
    "example/Methods.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;
import java.util.*;

public class Methods {
    public String upper(String s, Context ctx) { return s.toUpperCase(); }
    public static int twice(int x) { return x * 2; }
    public void nothing(Map<String, Object> m) { }
    public Map<String, Object> ctx(Object in, Context c) throws Exception {
        int r1 = c.getRemainingTimeInMillis();
        Thread.sleep(50);
        int r2 = c.getRemainingTimeInMillis();
        c.getLogger().log("logged via context");
        System.out.println("printed via System.out");
        LambdaRuntime.getLogger().log("logged via LambdaRuntime");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requestId", c.getAwsRequestId());
        m.put("arn", c.getInvokedFunctionArn());
        m.put("functionName", c.getFunctionName());
        m.put("functionVersion", c.getFunctionVersion());
        m.put("memory", c.getMemoryLimitInMB());
        m.put("logGroup", c.getLogGroupName());
        m.put("logStream", c.getLogStreamName());
        m.put("r1", r1); m.put("r2", r2);
        m.put("identity", c.getIdentity() == null ? null : c.getIdentity().getIdentityId());
        m.put("custom", c.getClientContext() == null ? null : c.getClientContext().getCustom());
        return m;
    }
    public String fail(Map<String, Object> m) { throw new IllegalStateException("went wrong: " + m.get("x")); }
    public String npe(Map<String, Object> m) { String s = null; return s.trim(); }
}
""",
    "example/Failing.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;

public class Failing implements RequestHandler<String, String> {
    public Failing() { throw new IllegalArgumentException("constructor exploded"); }
    public String handleRequest(String s, Context c) { return s; }
}
""",
    "example/BadStatic.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;

public class BadStatic implements RequestHandler<String, String> {
    static { if (true) throw new RuntimeException("static init failed"); }
    public String handleRequest(String s, Context c) { return s; }
}
""",
    "example/SqsLike.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;
import java.util.*;

public class SqsLike implements RequestHandler<SqsLike.Event, List<String>> {
    public static class Event {
        private List<Msg> records;
        public List<Msg> getRecords() { return records; } public void setRecords(List<Msg> r) { records = r; }
    }
    public static class Msg {
        private String body; private String eventSourceArn;
        public void setBody(String b) { body = b; } public void setEventSourceArn(String a) { eventSourceArn = a; }
        public String getBody() { return body; } public String getEventSourceArn() { return eventSourceArn; }
    }
    public List<String> handleRequest(Event e, Context c) {
        List<String> out = new ArrayList<>();
        for (Msg m : e.getRecords()) out.add(m.getBody() + "@" + m.getEventSourceArn());
        return out;
    }
}
""",
    "example/NotAHandler.java": """
package example;
public class NotAHandler { }
""",
    "example/Leveled.java": """
package example;
import com.amazonaws.services.lambda.runtime.*;
import com.amazonaws.services.lambda.runtime.logging.LogLevel;
import java.util.*;

public class Leveled implements RequestHandler<Map<String, Object>, String> {
    static { LambdaRuntime.getLogger().log("at init", LogLevel.WARN); }
    public String handleRequest(Map<String, Object> in, Context c) {
        LambdaLogger log = c.getLogger();
        log.log("debug message", LogLevel.DEBUG);
        log.log("info message", LogLevel.INFO);
        log.log("warn message", LogLevel.WARN);
        log.log("plain message");
        log.log("multi\\nline", LogLevel.ERROR);
        System.out.println("printed via System.out");
        if (in.containsKey("fail")) throw new IllegalStateException("leveled failure");
        return "ok";
    }
}
""",
}


@pytest.fixture(scope="module")
def java_task(java_runtime_jar, tmp_path_factory):
    task = tmp_path_factory.mktemp("javafn") / "task"
    task.mkdir()
    compile_java(task, java_runtime_jar, SOURCES)
    return task


@pytest.fixture
def java(shim, java_runtime_jar, java_task):
    def start(handler, env=None):
        cp = "%s:%s:%s/lib/*:/opt/java/lib/*" % (java_runtime_jar, java_task, java_task)
        argv = [JAVA, "-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", cp, "lamina.runtime.Bootstrap"]
        p = shim(argv, {}, handler, env, task_subdir="cwd")
        return p

    return start


def test_pojo_handler_and_state(java):
    p = java("example.Pojo")
    event = {"name": "Ada", "age": 36, "tags": ["a", "b"], "address": {"city": "Paris", "zip": 75001},
             "unknown": {"ignored": True}}
    r1 = p.invoke(event, timeout=30)
    assert r1.kind == "response", p.output()
    # NON_NULL: "missing" is omitted; field order follows the class declaration
    assert r1.body.decode() == (
        '{"greeting":"Hello Ada","count":1,"adult":true,'
        '"home":{"city":"Paris","zip":75001},"tags":["a","b"]}')
    r2 = p.invoke({"name": "Bob", "age": 12})
    assert r2.json == {"greeting": "Hello Bob", "count": 2, "adult": False}  # instance kept


def test_map_handler(java):
    p = java("example.MapHandler")
    rec = p.invoke({"b": 1, "a": [1, 2.5, None, True], "big": 12345678901234})
    assert rec.kind == "response", p.output()
    assert rec.body.decode("utf-8") == (
        '{"in":{"b":1,"a":[1,2.5,null,true],"big":12345678901234},"keys":["b","a","big"],'
        '"nothing":null,"pi":3.5,"unicode":"h\u00e9llo"}')


def test_event_style_property_names(java):
    event = {"Records": [{"body": "hi", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}]}
    assert java("example.SqsLike").invoke(event).json == ["hi@arn:aws:sqs:us-east-1:1:q"]


def test_stream_handler(java):
    p = java("example.Stream")
    rec = p.invoke(b"\x00binary\xff", content_type="application/octet-stream")
    assert rec.body == b"raw:\x00binary\xff"


def test_method_handlers(java):
    assert java("example.Methods::upper").invoke("hello").json == "HELLO"
    assert java("example.Methods::twice").invoke(21).json == 42
    assert java("example.Methods::nothing").invoke({}).body == b"null"


def test_context_and_logging(java):
    p = java("example.Methods::ctx")
    rec = p.invoke({}, timeout_ms=5000, extra={
        "Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool"}',
        "Lambda-Runtime-Client-Context": '{"custom":{"k":"v"},"env":{},"client":{"installation_id":"i"}}',
    })
    c = rec.json
    assert c["requestId"] == rec.request_id
    assert c["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    assert c["functionName"] == "test-fn" and c["functionVersion"] == "$LATEST"
    assert c["memory"] == 256
    assert c["logGroup"] == "/aws/lambda/test-fn"
    assert 0 < c["r2"] < c["r1"] <= 5000
    assert c["identity"] == "id-1" and c["custom"] == {"k": "v"}
    assert p.wait_for_output("logged via LambdaRuntime")
    for line in ("logged via context\n", "printed via System.out\n", "logged via LambdaRuntime\n"):
        assert line in p.stdout


def test_handler_exception(java):
    p = java("example.Methods::fail")
    rec = p.invoke({"x": 5})
    assert rec.kind == "error"
    body = rec.json
    assert list(body) == ["errorMessage", "errorType", "stackTrace"]
    assert body["errorMessage"] == "went wrong: 5"
    assert body["errorType"] == "java.lang.IllegalStateException"
    assert body["stackTrace"][0] == "example.Methods.fail(Methods.java:29)"
    assert not any("lamina.runtime" in f for f in body["stackTrace"])
    assert rec.headers["lambda-runtime-function-error-type"] == "Runtime.UserException"
    assert p.wait_for_output("went wrong: 5: java.lang.IllegalStateException\n")
    assert "java.lang.IllegalStateException: went wrong: 5" in p.stdout
    assert p.invoke({"x": 6}).json["errorMessage"] == "went wrong: 6"  # still running


def test_npe_message(java):
    body = java("example.Methods::npe").invoke({}).json
    assert body["errorType"] == "java.lang.NullPointerException"
    assert body["errorMessage"]  # helpful NPE message (or the class name)


def test_bad_input_json(java):
    rec = java("example.Methods::twice").invoke({"not": "an int"})
    assert rec.json["errorMessage"] == "An error occurred during JSON parsing"
    assert rec.json["errorType"] == "java.lang.RuntimeException"


def test_class_not_found(java):
    # AWS's Java runtime reports a missing class on each invoke (non-fatal
    # user fault, no stackTrace) rather than as an init error.
    p = java("example.Nope")
    rec = p.invoke({})
    assert rec.kind == "error"
    assert rec.json == {"errorMessage": "Class not found: example.Nope",
                        "errorType": "java.lang.ClassNotFoundException"}
    assert rec.headers["lambda-runtime-function-error-type"] == "Runtime.BadFunctionCode"
    assert p.wait_for_output("Class not found: example.Nope: java.lang.ClassNotFoundException\n"
                             "java.lang.ClassNotFoundException: example.Nope")
    assert p.invoke({}).kind == "error"


def test_no_such_method_and_bad_class(java):
    rec = java("example.Methods::missing").invoke({})
    assert rec.json == {"errorMessage": "No public method named missing with appropriate method "
                                        "signature found on class example.Methods"}
    rec = java("example.NotAHandler").invoke({})
    assert rec.json == {"errorMessage": "Class does not implement an appropriate handler interface: "
                                        "example.NotAHandler"}


def test_init_error_constructor(java):
    p = java("example.Failing")
    rec = p.api.wait_record(timeout=30)
    assert rec.kind == "init_error", p.output()
    assert rec.json == {"errorMessage": "constructor exploded", "errorType": "java.lang.IllegalArgumentException"}
    assert rec.headers["lambda-runtime-function-error-type"] == "Runtime.BadFunctionCode"
    assert p.wait_exit() == 1


def test_init_error_static_initializer(java):
    p = java("example.BadStatic")
    rec = p.api.wait_record(timeout=30)
    assert rec.kind == "init_error", p.output()
    assert rec.json == {"errorMessage": "Error loading class example.BadStatic",
                        "errorType": "java.lang.ExceptionInInitializerError"}
    assert p.wait_exit() == 1


def _json_lines(p):
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def test_json_logger_records_and_level_filter(java):
    p = java("example.Leveled", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    rec = p.invoke({})
    assert rec.json == "ok"
    assert p.wait_for_output("printed via System.out"), p.output()
    records = _json_lines(p)
    assert [(r["level"], r.get("message")) for r in records] == [
        ("WARN", "at init"), ("INFO", "info message"), ("WARN", "warn message"),
        ("UNDEFINED", "plain message"), ("ERROR", "multi\nline")]
    # aws-lambda-java-runtime-interface-client StructuredLogMessage, nulls left out.
    assert list(records[1]) == ["timestamp", "message", "level", "AWSRequestId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", records[1]["timestamp"])
    assert records[1]["AWSRequestId"] == rec.request_id
    assert "AWSRequestId" not in records[0]  # logged during init
    assert "debug message" not in p.stdout
    assert "printed via System.out\n" in p.stdout  # System.out stays plain


def test_text_logger_prefixes_levels(java):
    p = java("example.Leveled", env={"AWS_LAMBDA_LOG_LEVEL": "WARN"})
    p.invoke({})
    assert p.wait_for_output("printed via System.out"), p.output()
    out = p.stdout
    assert "[WARN] at init\n" in out
    assert "[WARN] warn message\n" in out
    assert "plain message\n" in out and "[UNDEFINED]" not in out
    assert "[ERROR] multi\nline\n" in out
    assert "info message" not in out and "debug message" not in out


def test_json_handler_exception_is_an_error_record(java):
    p = java("example.Leveled", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    rec = p.invoke({"fail": True})
    assert rec.kind == "error"
    assert p.wait_for_output("leveled failure: java.lang.IllegalStateException"), p.output()
    errors = [r for r in _json_lines(p) if "leveled failure" in r.get("message", "")]
    assert len(errors) == 1
    assert errors[0]["level"] == "ERROR" and errors[0]["AWSRequestId"] == rec.request_id
    assert errors[0]["message"].startswith("leveled failure: java.lang.IllegalStateException\n")
