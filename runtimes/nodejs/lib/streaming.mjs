// Response streaming (awslambda.streamifyResponse handlers), wire format of
// spec section 1.8: a chunked POST to /response with
// "Lambda-Runtime-Function-Response-Mode: streaming"; a mid-stream error is
// sent in the Lambda-Runtime-Function-Error-Type/-Body trailers, the body
// being base64(JSON {errorType, errorMessage, trace}).
import { Writable } from 'node:stream';
import { InvalidStreamingOperation, toRapidResponse } from './errors.mjs';

const HTTP_INTEGRATION_CT = 'application/vnd.awslambda.http-integration-response';

export class ResponseStream extends Writable {
  constructor(client, id, highWaterMark) {
    super(highWaterMark ? { highWaterMark } : {});
    this._client = client;
    this._id = id;
    this._hwm = highWaterMark;
    this._contentType = 'application/octet-stream';
    this._req = null;
    this._onBeforeFirstWrite = null;
    this.responseDone = new Promise((resolve, reject) => {
      this._resolveDone = resolve;
      this._rejectDone = reject;
    });
  }

  setContentType(contentType) {
    if (this._req) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    this._contentType = contentType;
  }

  get started() {
    return this._req !== null;
  }

  _start() {
    if (this._req) return;
    this._req = this._client.streamRequest(this._id, this._contentType, this._hwm);
    this._req.on('response', (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 202 ? this._resolveDone() : this._rejectDone(new Error(`HTTP ${res.statusCode}`))));
    });
    this._req.on('error', (e) => this._rejectDone(e));
    if (this._onBeforeFirstWrite) {
      const hook = this._onBeforeFirstWrite;
      this._onBeforeFirstWrite = null;
      hook((chunk) => this._req.write(chunk));
    }
  }

  _write(chunk, encoding, callback) {
    this._start();
    this._req.write(chunk, encoding, callback);
  }

  _final(callback) {
    this._start();
    this._req.end(callback);
  }

  // Terminate a started stream with error trailers.
  failWithTrailers(err) {
    this._start();
    const body = toRapidResponse(err);
    this._req.addTrailers({
      'Lambda-Runtime-Function-Error-Type': body.errorType,
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(body)).toString('base64'),
    });
    this._req.end();
  }
}

export class HttpResponseStream {
  // Prelude {statusCode, headers, cookies} + 8 NUL bytes, then the payload.
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CT);
    const metadata = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}
