// Runtime API client (built-in http, keep-alive, no timeout on /next).
// Mirrors what AWS's Node.js runtime sends (src/RAPIDClient.js, 3.x):
//  - /response: JSON.stringify(result ?? null), Content-Type application/json;
//  - /error: {errorType, errorMessage, trace} + X-Ray cause, *no* error-type header;
//  - /init/error: same body + Lambda-Runtime-Function-Error-Type: <errorType>.
import http from 'node:http';
import { toRapidResponse, xrayFormatted } from './errors.mjs';

const BASE = '/2018-06-01/runtime';

export function serializeResponse(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch (_err) {
    throw new Error('Unable to stringify response body');
  }
}

export class RapidClient {
  constructor(hostnamePort) {
    const [hostname, port] = hostnamePort.split(':');
    this.hostname = hostname;
    this.port = parseInt(port, 10);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  _request(method, path, body, headers) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { hostname: this.hostname, port: this.port, path, method, headers, agent: this.agent },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async _post(path, bodyString, headers) {
    const buf = Buffer.from(bodyString, 'utf-8');
    const res = await this._request('POST', path, buf, {
      'Content-Type': 'application/json',
      'Content-Length': buf.length,
      ...headers,
    });
    if (res.status !== 202) {
      throw new Error(`Request to Lambda Runtime '${path}' failed with HTTP ${res.status}: ${res.body}`);
    }
  }

  async nextInvocation() {
    const res = await this._request('GET', `${BASE}/invocation/next`);
    if (res.status !== 200) throw new Error(`Failed to get next invocation: HTTP ${res.status}`);
    return { bodyJson: res.body.toString('utf-8'), headers: res.headers };
  }

  postInvocationResponse(response, id, callback) {
    const body = serializeResponse(response);
    this._post(`${BASE}/invocation/${encodeURIComponent(id)}/response`, body, {}).then(callback, fatal);
  }

  postInvocationError(error, id, callback) {
    const body = serializeResponse(toRapidResponse(error));
    const headers = {};
    const xray = xrayFormatted(error);
    if (xray && Buffer.byteLength(xray) < 1024 * 1024 && /^[\x20-\x7e]*$/.test(xray)) {
      headers['Lambda-Runtime-Function-XRay-Error-Cause'] = xray;
    }
    this._post(`${BASE}/invocation/${encodeURIComponent(id)}/error`, body, headers).then(callback, fatal);
  }

  postInitError(error, callback) {
    const response = toRapidResponse(error);
    this._post(`${BASE}/init/error`, serializeResponse(response), {
      'Lambda-Runtime-Function-Error-Type': response.errorType,
    }).then(callback, fatal);
  }

  // Streaming response (spec 1.8): chunked POST with error trailers.
  streamRequest(id, contentType, highWaterMark) {
    return http.request({
      hostname: this.hostname,
      port: this.port,
      path: `${BASE}/invocation/${encodeURIComponent(id)}/response`,
      method: 'POST',
      agent: this.agent,
      highWaterMark,
      headers: {
        'Content-Type': contentType,
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
    });
  }
}

// A failing Runtime API is unrecoverable: report and exit like the AWS
// runtime's native client does.
function fatal(err) {
  process.stderr.write(`LAMBDA_RUNTIME ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}
