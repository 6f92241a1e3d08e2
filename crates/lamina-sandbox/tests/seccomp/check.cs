using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;

class Check {
    static int Main() {
        string baseUrl = "http://" + Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/";
        var client = new WebClient();
        string ev = client.DownloadString(baseUrl + "next");
        string id = client.ResponseHeaders["Lambda-Runtime-Aws-Request-Id"];
        var tasks = new Task<int>[8];
        for (int i = 0; i < 8; i++) { int n = i; tasks[i] = Task.Run(() => n * n); }
        Task.WaitAll(tasks);
        int sum = 0; foreach (var t in tasks) sum += t.Result;
        var psi = new ProcessStartInfo("/bin/sh", "-c \"echo $((6*7))\"") { UseShellExecute = false, RedirectStandardOutput = true };
        var p = Process.Start(psi);
        string child = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        File.WriteAllText("/tmp/cs.txt", "written");
        string tmp = File.ReadAllText("/tmp/cs.txt");
        byte[] hash = SHA256.Create().ComputeHash(Encoding.ASCII.GetBytes("lamina"));
        string sha = BitConverter.ToString(hash).Replace("-", "").ToLowerInvariant().Substring(0, 16);
        GC.Collect();
        string body = "{\"event\":" + ev + ",\"threads\":" + sum + ",\"child\":\"" + child + "\",\"tmp\":\"" + tmp + "\",\"sha256\":\"" + sha + "\"}";
        new WebClient().UploadString(baseUrl + id + "/response", body);
        return 0;
    }
}
