import { execFile, spawn } from 'node:child_process';
import type { LambdaContext, LambdaHandler } from './lambda.js';
import { PYTHON_BOOTSTRAP } from './python-bootstrap.js';

/** Lambda's Python runtimes localcloud runs (with the machine's python3, whatever its version). */
export const PYTHON_RUNTIME = /^python3\.\d{1,2}$/;

/** A Python function's code: `runtime` python3.x, a directory, and `module.function` in it. */
export interface PythonCode {
  runtime: string;
  /** Absolute path of the directory holding the handler's module (LAMBDA_TASK_ROOT). */
  codeDirectory: string;
  /** `module.function`, e.g. `handler.handler`. */
  handler: string;
}

/** What the runtime needs from localcloud for each invocation. */
export interface PythonInvocationSettings {
  /** localcloud's AWS endpoint, which boto3 is pointed at. */
  endpoint: string;
  region: string;
  functionArn: string;
  memoryMB: number;
  timeoutSeconds: number;
  /** The offset of localcloud's virtual clock (ms), read when the invocation starts. */
  clockOffsetMs(): number;
  /**
   * How the function's `time.sleep` passes time (python-bootstrap.ts): `driven` (localcloud's clock moves only when
   * told, tickMs 0) moves localcloud's clock to the wake-up time; `realtime` (a ticking clock) sleeps for real.
   */
  clockMode: 'driven' | 'realtime';
  /** Credentials of the function's role. */
  credentials(): { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  environment?: Record<string, string>;
}

/** The error a Python function's invocation fails with: Lambda's error payload members. */
export class PythonFunctionError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly stackTrace: string[] = [],
  ) {
    super(message);
    this.name = errorType;
  }
}

/** What installs boto3 where it is missing: said by every failure to find a usable python3. */
export const PYTHON_HINT = 'install Python 3 with boto3 (Debian/Ubuntu: apt-get install python3-boto3), or set OPSAUTO_PYTHON to a python3 that can import boto3';

let interpreter: Promise<string | undefined> | undefined;

/**
 * The python3 that runs functions: OPSAUTO_PYTHON when set, else `python3` on the PATH, else /usr/bin/python3;
 * the first of them that can `import boto3`. Looked up once per process; undefined when none can.
 */
export function findPython(): Promise<string | undefined> {
  interpreter ??= (async () => {
    const candidates = [process.env.OPSAUTO_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
    for (const candidate of [...new Set(candidates)]) {
      const ok = await new Promise<boolean>((resolve) => {
        execFile(candidate, ['-c', 'import boto3'], { timeout: 30_000 }, (error) => resolve(!error));
      });
      if (ok) return candidate;
    }
    return undefined;
  })();
  return interpreter;
}

/** Forgets the python3 found (tests that change OPSAUTO_PYTHON). */
export function forgetPython(): void {
  interpreter = undefined;
}

/**
 * A Lambda handler that runs a Python function in a `python3` subprocess per invocation (see python-bootstrap.ts):
 * the event on stdin, the result on fd 3, stdout and stderr lines into the invocation's log. The environment is
 * Lambda's (AWS_REGION, credentials of the function's role, _HANDLER, LAMBDA_TASK_ROOT …) plus the function's
 * own variables, and nothing else of localcloud's process.
 */
export function pythonHandler(code: PythonCode, settings: PythonInvocationSettings): LambdaHandler {
  if (!PYTHON_RUNTIME.test(code.runtime)) throw new Error(`runtime ${code.runtime} is not a Python runtime localcloud runs (python3.x)`);
  return async (event: unknown, context: LambdaContext) => {
    const python = await findPython();
    if (!python) throw new PythonFunctionError('Runtime.PythonUnavailable', `localcloud found no python3 that can import boto3 to run ${context.functionName} (${code.runtime}): ${PYTHON_HINT}`);
    const credentials = settings.credentials();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
      ...(process.env.PYENV_ROOT ? { PYENV_ROOT: process.env.PYENV_ROOT } : {}),
      ...(process.env.PYENV_VERSION ? { PYENV_VERSION: process.env.PYENV_VERSION } : {}),
      ...settings.environment,
      AWS_REGION: settings.region,
      AWS_DEFAULT_REGION: settings.region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
      // Nothing of the machine's own AWS configuration reaches the function.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: settings.endpoint,
      LOCALCLOUD_ENDPOINT: settings.endpoint,
      LOCALCLOUD_CLOCK_OFFSET_MS: String(settings.clockOffsetMs()),
      LOCALCLOUD_CLOCK_MODE: settings.clockMode,
      LOCALCLOUD_FUNCTION_ARN: settings.functionArn,
      LOCALCLOUD_REQUEST_ID: context.awsRequestId,
      AWS_LAMBDA_FUNCTION_NAME: context.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(settings.memoryMB),
      AWS_LAMBDA_FUNCTION_TIMEOUT: String(settings.timeoutSeconds),
      AWS_EXECUTION_ENV: `AWS_Lambda_${code.runtime}`,
      LAMBDA_TASK_ROOT: code.codeDirectory,
      _HANDLER: code.handler,
    };
    return runPython(python, env, event, context, settings.timeoutSeconds);
  };
}

/** Lambda's timeout message. */
export function timedOutMessage(timeoutSeconds: number): string {
  return `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
}

function runPython(python: string, env: Record<string, string>, event: unknown, context: LambdaContext, timeoutSeconds: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', PYTHON_BOOTSTRAP], { env, cwd: env.LAMBDA_TASK_ROOT, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const result: Buffer[] = [];
    const partial = { stdout: '', stderr: '' };
    const lines = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = partial[stream] + chunk.toString('utf8');
      const parts = text.split('\n');
      partial[stream] = parts.pop() ?? '';
      for (const line of parts) context.log?.(line);
    };
    child.stdout.on('data', lines('stdout'));
    child.stderr.on('data', lines('stderr'));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => result.push(chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(event ?? null));
    // A function that runs past its timeout on real time (a busy loop, or real sleeps on a ticking clock) is stopped.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000 + 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PythonFunctionError('Runtime.PythonUnavailable', `could not start ${python}: ${e.message}; ${PYTHON_HINT}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) context.log?.(partial[stream]);
      const text = Buffer.concat(result).toString('utf8');
      if (signal === 'SIGKILL') return reject(new PythonFunctionError('Sandbox.Timedout', timedOutMessage(timeoutSeconds)));
      let outcome: { ok?: boolean; result?: unknown; timedOut?: boolean; errorType?: string; errorMessage?: string; stackTrace?: string[] };
      try {
        outcome = JSON.parse(text) as typeof outcome;
      } catch {
        return reject(new PythonFunctionError('Runtime.ExitError', `RequestId: ${context.awsRequestId} Error: Runtime exited with error: exit status ${code ?? signal}`));
      }
      if (outcome.ok) return resolve(outcome.result);
      if (outcome.timedOut) return reject(new PythonFunctionError('Sandbox.Timedout', timedOutMessage(timeoutSeconds)));
      reject(new PythonFunctionError(outcome.errorType ?? 'Error', outcome.errorMessage ?? '', outcome.stackTrace ?? []));
    });
  });
}
