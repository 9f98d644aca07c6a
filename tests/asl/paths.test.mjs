// The state machine's error paths, executed (not just linted) by aws-local-stepfunctions with
// local task handlers standing in for the Lambdas: which failures end cleanly, which roll back,
// and what each service's outcome becomes. `node --test tests/asl/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node >= 22); Node 20 needs this one line.
Promise.withResolvers ??= () => { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };
const { StateMachine } = await import('aws-local-stepfunctions');

const load = (file) => JSON.parse(readFileSync(new URL(`../../statemachine/${file}`, import.meta.url), 'utf8')
  .replace(/"\$\{(\w+)FunctionArn\}"/g, (_, fn) => `"arn:aws:lambda:us-east-1:123456789012:function:${fn}"`));
// The deployment's machine; each service runs in its own execution of the service machine
// (DeployService, `states:startExecution.sync:2`), run here by DeployService's local handler.
const definition = load('deploy.asl.json');
const serviceDefinition = load('service.asl.json');
// aws-local-stepfunctions resolves a Task's TimeoutSecondsPath against the input after Parameters
// (Step Functions and moto: the state's input), so the approval gate's path is pointed at the same
// number inside its Parameters here.
serviceDefinition.States.AwaitApproval.TimeoutSecondsPath = '$.Entries[0].Detail.approval.timeoutSeconds';
for (const watch of ['WatchRollout', 'WatchRollback']) {
  serviceDefinition.States[watch].TimeoutSecondsPath = '$.Payload.rollout.watch.seconds';
}
// RunMigration's Parameters are RunTask's alone (no room for its timeout), so the migration's
// timeout is a fixed second here, read by the timeout test.
for (const run of ['RunMigration', 'RunMigrationWithoutNetwork']) {
  delete serviceDefinition.States[run].TimeoutSecondsPath;
  serviceDefinition.States[run].TimeoutSeconds = 1;
}
// berth's error names by group, as shared/src/error.rs declares them (written by the Rust test that
// renders the ASL: `BERTH_BLESS=1 cargo test -p berth-statemachine`).
const errorNames = JSON.parse(readFileSync(new URL('../../statemachine/error-names.json', import.meta.url), 'utf8'));

const WAITS = ['WaitForOldTasks', 'WaitForFailedTasks', 'WaitForTurn', 'WaitForShift', 'WaitForCanary', 'WaitForThaw', 'WaitForScan', 'WaitToLookAgain', 'WaitToLookAgainAtRollback'];
const TASKS = ['Plan', 'CheckFreeze', 'CheckScan', 'AcquireTurn', 'AwaitApproval', 'RegisterRevision', 'PrepareMigration', 'RunMigration',
  'RunMigrationWithoutNetwork', 'JudgeMigration', 'RecordDesiredCount', 'StopOldTasks', 'StartNewTasks', 'StopFailedTasks', 'UpdateService', 'WatchRollout', 'EvaluateShift',
  'EvaluateCanary', 'Rollback', 'WatchRollback', 'Report', 'Summarize', 'DescribeService', 'ReadServiceAfterItsExecution'];
// The watch states invoke check-stability through `lambda:invoke.waitForTaskToken`: their handlers
// get the Payload, and answer as check-stability's SendTaskSuccess would.
const WATCHES = ['WatchRollout', 'WatchRollback'];
// How update-service and rollback say their rollout is watched (TimeoutSecondsPath reads it).
const WATCH = { seconds: 300, judgeShift: false };
// The service execution's clock: `$$.State.EnteredTime` (which the watch compares with the
// rollout's deadline when a check could not be made) moves a minute on at each read, and each
// rollout's deadline is ten minutes after the clock's time when it starts.
const clock = {
  now: 0,
  reset() { this.now = Date.parse('2026-11-30T12:00:00.000Z'); },
  get EnteredTime() { this.now += 60_000; return new Date(this.now).toISOString(); },
  deadline() { return new Date(this.now + 600_000).toISOString(); },
};

/** A Lambda error as Step Functions sees it: matched by errorType. */
function lambdaError(name, message = name) {
  const e = new Error(message);
  e.name = name;
  return e;
}

const item = (extra = {}) => ({
  deploymentId: 'x/prod/web', cluster: 'prod', service: 'web', image: 'r/web@sha256:' + 'a'.repeat(64),
  repository: 'web', forceNewDeployment: false, timeoutSeconds: 60, pollIntervalSeconds: 1,
  rollbackTimeoutSeconds: 60, execution: { id: 'arn', name: 'x', startTime: 't' }, turnDeadline: 't', executionName: 'web-1', fallbackPollSeconds: 300, ...extra,
});

/** stop-service's answer: the recorded count and how the stop goes. */
const stopping = (over = {}) => ({ desiredCount: 3, taskDefinitionArn: 'td:7', deadline: 't', timeoutSeconds: 300, scaledDown: false,
  running: 0, drained: false, ...over });

/** PrepareMigration's answer: RunTask's parameters as the ecs:runTask.sync integration takes them. */
const prepared = ({ network = true } = {}) => ({
  runTask: { Cluster: 'prod', TaskDefinition: 'td:8', LaunchType: network ? 'FARGATE' : 'EC2', Group: 'berth-migration/ab',
    Overrides: { ContainerOverrides: [{ Name: 'app', Command: ['migrate'] }] },
    ...(network ? { NetworkConfiguration: { AwsvpcConfiguration: { Subnets: ['subnet-1'] } } } : {}) },
  taskDefinitionArn: 'td:8', container: 'app', essential: ['app'], timeoutSeconds: 600, status: 'PENDING', done: false,
});
/** The task as the integration describes it when it stopped. */
const stoppedTask = (exit) => ({ TaskArn: 'arn:task/prod/1', LastStatus: 'STOPPED', StopCode: 'EssentialContainerExited',
  Containers: [{ Name: 'app', ExitCode: exit }] });

/** Plan's items as it writes them (model::WirePlan): what all share once, in `common`. */
function wire(items) {
  const own = ['deploymentId', 'cluster', 'service', 'executionName'];
  const common = Object.fromEntries(Object.entries(items[0] ?? {}).filter(([k, v]) =>
    !own.includes(k) && items.every((i) => JSON.stringify(i[k]) === JSON.stringify(v))));
  const deployments = items.map((i) => Object.fromEntries(Object.entries(i).filter(([k]) => !(k in common))));
  return { deployments, common };
}

/** Run with handlers overriding the happy path; returns the calls, the Summarize input and the result. */
async function run(overrides = {}, { items = [item()] } = {}) {
  const calls = Object.fromEntries(TASKS.map((t) => [t, 0]));
  clock.reset();
  let summarized;
  const happy = {
    Plan: () => ({ source: 'console', ...wire(items) }),
    CheckFreeze: () => ({ decision: 'OPEN', detail: 'open', checkedAt: 't' }),
    CheckScan: () => ({ verdict: 'allow', image: 'i', counts: {}, worst: [], reason: 'clean', waitingSince: 't', checkedAt: 't' }),
    AcquireTurn: () => ({ decision: 'GO', detail: 'alone', others: [] }),
    AwaitApproval: () => ({ by: 'alice', at: 't' }),
    RegisterRevision: () => ({ taskDefinitionArn: 'td:8', previousTaskDefinitionArn: 'td:7', container: 'app', image: 'i', previousImages: [], reused: false }),
    PrepareMigration: () => prepared(),
    RunMigration: () => stoppedTask(0),
    RunMigrationWithoutNetwork: () => stoppedTask(0),
    JudgeMigration: (input) => ({ ...input.migrationTask, stopped: undefined, done: true, status: 'STOPPED' }),
    RecordDesiredCount: () => stopping({ scaledDown: false, drained: false }),
    StopOldTasks: () => stopping({ scaledDown: true, drained: true }),
    StartNewTasks: () => ({ ecsDeploymentId: 'ecs-svc/1', taskDefinitionArn: 'td:8', startedAt: 't', deadline: clock.deadline(), desiredCount: 3, watch: WATCH }),
    StopFailedTasks: (input) => ({ ...input.stopping, deadline: 'set', scaledDown: true, running: 0, drained: true }),
    UpdateService: () => ({ ecsDeploymentId: 'ecs-svc/1', taskDefinitionArn: 'td:8', startedAt: 't', deadline: clock.deadline(), desiredCount: 2, watch: WATCH }),
    WatchRollout: () => ({ status: 'COMPLETED', detail: 'done' }),
    EvaluateShift: () => ({ verdict: 'PASS', decision: 'CONTINUE', detail: 'ok so far' }),
    EvaluateCanary: () => ({ verdict: 'PASS', decision: 'PROMOTE', detail: 'ok' }),
    Rollback: () => ({ taskDefinitionArn: 'td:7', rollout: { ecsDeploymentId: 'ecs-svc/2', taskDefinitionArn: 'td:7', startedAt: 't', deadline: clock.deadline(), desiredCount: 2, watch: WATCH }, detail: 'back' }),
    WatchRollback: () => ({ status: 'COMPLETED', detail: 'back on td:7' }),
    DescribeService: () => { throw new Error('ECS is read only when Summarize cannot run'); },
    ReadServiceAfterItsExecution: () => { throw new Error('ECS is read only when a service execution ends without a report'); },
    // summarize for one service: its report (the detail kept here for the assertions)
    Report: ({ service: o }) => ({ cluster: o.cluster, service: o.service, outcome: o.outcome, cause: o.outcome,
      error: o.detail.error?.Error, detail: o.detail }),
    Summarize: (input) => {
      summarized = input.reports;
      const bad = input.reports.find((r) => !['DEPLOYED', 'SUPERSEDED'].includes(r.outcome));
      return bad ? { status: 'FAILED', error: 'Outcome' + bad.outcome, cause: bad.outcome } : { status: 'SUCCEEDED', error: '', cause: 'ok' };
    },
  };
  const handlers = {};
  for (const t of TASKS) {
    handlers[t] = async (input) => {
      calls[t]++;
      return (overrides[t] ?? happy[t])(WATCHES.includes(t) ? input.Payload : input, calls[t]);
    };
  }
  const overridesOf = () => ({
    taskResourceLocalHandlers: handlers,
    waitTimeOverrides: Object.fromEntries(WAITS.map((w) => [w, 0])),
    retryIntervalOverrides: Object.fromEntries([...TASKS, 'DeployService'].map((t) => [t, 0])),
  });
  // DeployService: the service's own execution, its output as `.sync:2` gives it
  handlers.DeployService = overrides.DeployService ?? (async (input) => {
    const child = new StateMachine(serviceDefinition, { validationOptions: { checkArn: false } });
    const output = await child.run(input.Input, {
      overrides: overridesOf(),
      context: { Execution: { Id: `arn:aws:states:us-east-1:123456789012:execution:berth-service:${input.Name}`, Name: input.Name, StartTime: 't' },
        Task: { Token: 'token-1' }, State: clock },
    }).result.catch((e) => { if (process.env.DEBUG_ASL) console.error('child failed', e, e.cause); throw e; });
    return { ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:berth-service:${input.Name}`, Status: 'SUCCEEDED', Output: output };
  });
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const execution = machine.run({ cluster: 'prod', service: 'web', image: 'i' }, {
    overrides: overridesOf(),
    context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:berth-deploy:x', Name: 'x', StartTime: 't' },
      Task: { Token: 'token-1' } },
  });
  let result, error;
  try { result = await execution.result; } catch (e) { error = e.cause ?? e; }
  return { calls, outcomes: summarized?.map((r) => r.outcome), results: summarized, result, error };
}

test('a healthy rollout is DEPLOYED and the execution succeeds', async () => {
  const r = await run();
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
  assert.equal(r.error, undefined);
  assert.equal(r.calls.Rollback, 0);
});

test('IN_PROGRESS polls loop until COMPLETED', async () => {
  const r = await run({ WatchRollout: (_, n) => ({ status: n < 3 ? 'IN_PROGRESS' : 'COMPLETED', detail: '' }) });
  assert.equal(r.calls.WatchRollout, 3);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

test('bad input at the planner fails the execution with the Lambda error name, and nothing runs', async () => {
  const r = await run({ Plan: () => { throw lambdaError('ServiceNotFound', 'service nope not found'); } });
  assert.equal(r.error.name, 'ServiceNotFound');
  assert.equal(r.calls.AcquireTurn + r.calls.UpdateService, 0);
});

test('nothing to deploy succeeds without touching any service', async () => {
  const r = await run({}, { items: [] });
  assert.equal(r.error, undefined);
  assert.equal(r.calls.AcquireTurn + r.calls.Summarize, 0);
});

for (const name of ['InvalidInput', 'ContainerNotFound', 'AmbiguousContainer', 'InvalidImage', 'TaskDefinitionNotFound']) {
  test(`${name} while registering ends NOT_STARTED without a rollback`, async () => {
    const r = await run({ RegisterRevision: () => { throw lambdaError(name); } });
    assert.deepEqual(r.outcomes, ['NOT_STARTED']);
    assert.equal(r.results[0].detail.error.Error, name);
    assert.equal(r.calls.UpdateService + r.calls.Rollback, 0);
  });
}

for (const name of errorNames.lambda.refused) {
  test(`${name} from UpdateService means nothing was changed: NOT_STARTED, no rollback`, async () => {
    const r = await run({ UpdateService: () => { throw lambdaError(name); } });
    assert.deepEqual(r.outcomes, ['NOT_STARTED']);
    assert.equal(r.calls.UpdateService, 1);
    assert.equal(r.calls.Rollback, 0);
  });
}

for (const name of errorNames.lambda.failed) {
  test(`${name} from UpdateService may have changed the service: rolled back`, async () => {
    const r = await run({ UpdateService: () => { throw lambdaError(name); } });
    assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
    assert.equal(r.calls.UpdateService, 1);
    assert.equal(r.calls.Rollback, 1);
    assert.equal(r.results[0].detail.error.Error, name);
  });
}

test('a Lambda timeout (Lambda.Unknown) after UpdateService may have touched the service: retried once, then rolled back', async () => {
  const r = await run({ UpdateService: () => { throw lambdaError('Lambda.Unknown', 'Task timed out after 60.00 seconds'); } });
  assert.equal(r.calls.UpdateService, 2);
  assert.equal(r.calls.Rollback, 1);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
  assert.equal(r.results[0].detail.error.Error, 'Lambda.Unknown');
});

// ECS's RegisterTaskDefinition refills one call a second (burst 20): forty services of one push
// registering at once queue for it. Throttled is retried ten times (2 s doubling to 60 s, FULL
// jitter: up to about six minutes) before a state gives up; other transient errors four times.
test('a registration Throttled nine times still deploys; the tenth refusal ends NOT_STARTED with nothing changed', async () => {
  const patient = await run({ RegisterRevision: (_, n) => { if (n <= 9) throw lambdaError('Throttled', 'Rate exceeded'); return { taskDefinitionArn: 'td:8', previousTaskDefinitionArn: 'td:7', container: 'app', image: 'i', previousImages: [], reused: false }; } });
  assert.equal(patient.calls.RegisterRevision, 10);
  assert.deepEqual(patient.outcomes, ['DEPLOYED']);
  const refused = await run({ RegisterRevision: () => { throw lambdaError('Throttled', 'Rate exceeded'); } });
  assert.equal(refused.calls.RegisterRevision, 11);
  assert.equal(refused.calls.UpdateService, 0);
  assert.deepEqual(refused.outcomes, ['NOT_STARTED']);
  const unavailable = await run({ RegisterRevision: () => { throw lambdaError('AwsUnavailable', 'unreachable'); } });
  assert.equal(unavailable.calls.RegisterRevision, 5);
});

test('Throttled is retried with backoff and the rollout goes on', async () => {
  const r = await run({ WatchRollout: (_, n) => { if (n <= 3) throw lambdaError('Throttled'); return { status: 'COMPLETED', detail: '' }; } });
  assert.equal(r.calls.WatchRollout, 4);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

// A watch's look that could not be made: each look is the call and the watch retrier's retries
// (Lambda's and berth's transient errors: five in all; Lambda.Unknown, Sandbox.Timedout: three);
// then the watch looks again (the clock moves a minute) until the rollout's ten-minute deadline:
// ten looks, the tenth past it.
const LOOKS_BEFORE_THE_DEADLINE = 10;

test('a check Throttled until the rollout\'s deadline rolls back, and the cause names the deadline', async () => {
  const r = await run({ WatchRollout: () => { throw lambdaError('Throttled', 'ECS throttled DescribeServices'); } });
  assert.equal(r.calls.WatchRollout, 5 * LOOKS_BEFORE_THE_DEADLINE);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
  const error = r.results[0].detail.error;
  assert.equal(error.Error, 'Throttled');
  assert.match(error.Cause, /^no check of the rollout could be made before its deadline 2026-11-30T12:10:00\.000Z; the last attempt: /);
  assert.match(error.Cause, /ECS throttled DescribeServices/);
});

for (const name of ['Sandbox.Timedout', 'Lambda.Unknown', 'Lambda.TooManyRequestsException']) {
  test(`a watch whose check ends ${name} five times looks again and the completed rollout is DEPLOYED`, async () => {
    const r = await run({ WatchRollout: (_, n) => { if (n <= 5) throw lambdaError(name, 'Task timed out after 60.00 seconds'); return { status: 'COMPLETED', detail: '' }; } });
    assert.equal(r.calls.WatchRollout, 6);
    assert.equal(r.calls.Rollback, 0);
    assert.deepEqual(r.outcomes, ['DEPLOYED']);
  });
}

test('a watch whose check is never made rolls back at the rollout\'s deadline, not before, and the rollback is watched the same way', async () => {
  const r = await run({
    WatchRollout: () => { throw lambdaError('Sandbox.Timedout', 'Task timed out after 60.00 seconds'); },
    WatchRollback: (_, n) => { if (n <= 4) throw lambdaError('Sandbox.Timedout'); return { status: 'COMPLETED', detail: '' }; },
  });
  assert.equal(r.calls.WatchRollout, 3 * LOOKS_BEFORE_THE_DEADLINE, 'three calls a look until the deadline');
  assert.equal(r.calls.Rollback, 1);
  assert.equal(r.calls.WatchRollback, 5, 'two looks of three calls; the fifth call answers');
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
  assert.equal(r.results[0].detail.error.Error, 'Sandbox.Timedout');
  assert.match(r.results[0].detail.error.Cause, /before its deadline .*Task timed out after 60\.00 seconds/);
});

test('a rollback whose check is never made ends ROLLBACK_FAILED at the rollback\'s deadline', async () => {
  const r = await run({
    WatchRollout: () => ({ status: 'FAILED', reason: 'CircuitBreaker', detail: 'tasks failed to start' }),
    WatchRollback: () => { throw lambdaError('Lambda.Unknown', 'Unhandled'); },
  });
  assert.equal(r.calls.WatchRollback, 3 * LOOKS_BEFORE_THE_DEADLINE);
  assert.deepEqual(r.outcomes, ['ROLLBACK_FAILED']);
  assert.equal(r.results[0].detail.error.Error, 'Lambda.Unknown');
  assert.match(r.results[0].detail.error.Cause, /^no check of the rollback could be made before its deadline /);
});

test('a check that fails for a reason of its own (not an unmade check) still rolls back at once', async () => {
  const r = await run({ WatchRollout: () => { throw lambdaError('AwsError', 'AccessDenied on DescribeServices'); } });
  assert.equal(r.calls.WatchRollout, 1);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
  assert.equal(r.results[0].detail.error.Error, 'AwsError');
});

test('a FAILED rollout rolls back and waits for the rollback to stabilise', async () => {
  const r = await run({
    WatchRollout: () => ({ status: 'FAILED', reason: 'DeploymentFailed', detail: 'circuit breaker' }),
    WatchRollback: (_, n) => ({ status: n < 2 ? 'IN_PROGRESS' : 'COMPLETED', detail: '' }),
  });
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
  assert.equal(r.calls.WatchRollback, 2);
  assert.equal(r.error.name, 'OutcomeROLLED_BACK', 'the Fail state takes its Error from the summary');
});

test('a canary ROLLBACK decision rolls back; CONTINUE keeps baking', async () => {
  const r = await run({
    EvaluateCanary: (_, n) => ({ verdict: n < 3 ? 'PASS' : 'FAIL', decision: n < 3 ? 'CONTINUE' : 'ROLLBACK', detail: '' }),
  }, { items: [item({ canary: { intervalSeconds: 1, metrics: [], alarms: ['a'] } })] });
  assert.equal(r.calls.EvaluateCanary, 3);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
});

test('a failing rollback is ROLLBACK_FAILED', async () => {
  const r = await run({
    WatchRollout: () => ({ status: 'FAILED', reason: 'Timeout', detail: '' }),
    Rollback: () => { throw lambdaError('AwsError', 'UpdateService: InvalidParameterException'); },
  });
  assert.deepEqual(r.outcomes, ['ROLLBACK_FAILED']);
});

test('WAIT polls the turn again; SUPERSEDED ends without touching the service', async () => {
  const waited = await run({ AcquireTurn: (_, n) => ({ decision: n < 3 ? 'WAIT' : 'GO', detail: '', others: [] }) });
  assert.equal(waited.calls.AcquireTurn, 3);
  assert.deepEqual(waited.outcomes, ['DEPLOYED']);
  const superseded = await run({ AcquireTurn: () => ({ decision: 'SUPERSEDED', detail: 'newer', others: [] }) });
  assert.deepEqual(superseded.outcomes, ['SUPERSEDED']);
  assert.equal(superseded.calls.RegisterRevision, 0);
  assert.equal(superseded.error, undefined);
});

test('TurnTimeout ends NOT_STARTED', async () => {
  const r = await run({ AcquireTurn: () => { throw lambdaError('TurnTimeout'); } });
  assert.deepEqual(r.outcomes, ['NOT_STARTED']);
});

test('one service failing does not stop the others (each ends with its own outcome)', async () => {
  const r = await run({
    RegisterRevision: (input) => {
      if (input.service === 'bad') throw lambdaError('ContainerNotFound');
      return { taskDefinitionArn: 'td:8', previousTaskDefinitionArn: 'td:7', container: 'app', image: 'i', previousImages: [], reused: false };
    },
  }, { items: [item(), item({ service: 'bad' })] });
  assert.deepEqual(r.outcomes, ['DEPLOYED', 'NOT_STARTED']);
});

// CODE_DEPLOY: check-stability reports greenTrafficWeight while CodeDeploy shifts production traffic.
const canary = { intervalSeconds: 1, bakeSeconds: 1, metrics: [], alarms: [] };
const shifting = (weights) => (_, n) => n <= weights.length
  ? { status: 'IN_PROGRESS', detail: 'shifting', greenTrafficWeight: weights[n - 1] }
  : { status: 'COMPLETED', detail: 'CodeDeploy deployment d-1 Succeeded' };

test('a blue/green shift is judged by the canary while green takes traffic, then baked as usual', async () => {
  const r = await run({ WatchRollout: shifting([0, 10, 10]) }, { items: [item({ canary })] });
  assert.equal(r.calls.WatchRollout, 4);
  assert.equal(r.calls.EvaluateShift, 2, 'only while green receives traffic');
  assert.equal(r.calls.EvaluateCanary, 1);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

test('a canary ROLLBACK mid-shift stops the blue/green deployment through Rollback', async () => {
  const r = await run({
    WatchRollout: shifting([10, 10, 10]),
    EvaluateShift: () => ({ verdict: 'FAIL', decision: 'ROLLBACK', detail: '5xx rate: Fail' }),
  }, { items: [item({ canary })] });
  assert.equal(r.calls.EvaluateShift, 1);
  assert.equal(r.calls.Rollback, 1);
  assert.equal(r.calls.EvaluateCanary, 0);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
  assert.equal(r.results[0].detail.canaryResult.detail, '5xx rate: Fail');
});

// ECS's native BLUE_GREEN / LINEAR / CANARY: check-stability reports the stage and weights under
// serviceDeployment, and greenTrafficWeight only from PRODUCTION_TRAFFIC_SHIFT to BAKE_TIME.
const native = (stages) => (_, n) => {
  if (n > stages.length) return { status: 'COMPLETED', detail: 'SUCCESSFUL', serviceDeployment: { status: 'SUCCESSFUL', strategy: 'LINEAR' } };
  const [lifecycleStage, productionTrafficWeight, canaryRuns] = stages[n - 1];
  return { status: 'IN_PROGRESS', detail: lifecycleStage,
    serviceDeployment: { status: 'IN_PROGRESS', strategy: 'LINEAR', lifecycleStage, productionTrafficWeight, testTrafficWeight: 100 },
    ...(canaryRuns ? { greenTrafficWeight: productionTrafficWeight } : {}) };
};

test('a native LINEAR deployment is judged by the canary at each step and in BAKE_TIME, not before', async () => {
  const r = await run({ WatchRollout: native([
    ['POST_TEST_TRAFFIC_SHIFT', 0, false], ['PRODUCTION_TRAFFIC_SHIFT', 25, true],
    ['PRODUCTION_TRAFFIC_SHIFT', 50, true], ['BAKE_TIME', 100, true], ['CLEAN_UP', 100, false]]) },
  { items: [item({ canary })] });
  assert.equal(r.calls.EvaluateShift, 3);
  assert.equal(r.calls.EvaluateCanary, 1);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

test('a canary ROLLBACK during a native shift goes to Rollback (StopServiceDeployment)', async () => {
  const r = await run({
    WatchRollout: native([['PRODUCTION_TRAFFIC_SHIFT', 10, true], ['PRODUCTION_TRAFFIC_SHIFT', 10, true]]),
    EvaluateShift: () => ({ verdict: 'FAIL', decision: 'ROLLBACK', detail: '5xx rate: Fail' }),
  }, { items: [item({ canary })] });
  assert.equal(r.calls.Rollback, 1);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
});

test('without a canary a shifting deployment is only polled', async () => {
  const r = await run({ WatchRollout: shifting([10, 50]) });
  assert.equal(r.calls.EvaluateShift, 0);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

test('a non-object input ends with Plan\'s InvalidInput, never States.Runtime', async () => {
  for (const input of [[], 'x', 42, true, [{ cluster: 'prod' }]]) {
    let planned;
    const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
    const execution = machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: {
          Plan: async (i) => { planned = i.request; throw lambdaError('InvalidInput', 'request: not an object'); },
        },
        retryIntervalOverrides: { Plan: 0 },
      },
      context: { Execution: { Id: 'arn', Name: 'x', StartTime: 't' } },
    });
    let error;
    try { await execution.result; } catch (e) { error = e.cause ?? e; }
    assert.deepEqual(planned, input, JSON.stringify(input));
    assert.equal(error?.name, 'InvalidInput', JSON.stringify(input));
    assert.equal(error?.message, 'request: not an object');
  }
});

test('when Summarize cannot run, the cause still says what each service runs, read from ECS by the state machine', async () => {
  const r = await run({
    WatchRollout: () => ({ status: 'FAILED', reason: 'TasksFailing', detail: 'crash loop' }),
    Rollback: () => { throw lambdaError('Lambda.ServiceException', 'runtime unreachable'); },
    Summarize: () => { throw lambdaError('Lambda.ServiceException', 'runtime unreachable'); },
    DescribeService: (input) => ({
      Services: [{ ServiceName: input.Services[0], Deployments: [
        { TaskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:8', Status: 'PRIMARY', RunningCount: 1 },
        { TaskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:7', Status: 'ACTIVE', RunningCount: 1 }] }],
    }),
  });
  assert.equal(r.error?.name, 'Lambda.ServiceException');
  assert.match(r.error.message, /The summary could not be made \(Lambda.ServiceException: .*runtime unreachable/);
  assert.match(r.error.message, /What each service runs now, read from ECS: .*prod\/web \(ROLLBACK_FAILED\).*task-definition\/web:8.*PRIMARY/);
});

const ecsSays = (input) => ({
  Services: [{ ServiceName: input.Services[0], Deployments: [
    { TaskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:7', Status: 'PRIMARY', RunningCount: 3 }] }],
});

test('a service execution that ends without a report (a Step Functions error) names what ECS runs, not "unknown"', async () => {
  const r = await run({
    DeployService: () => { throw lambdaError('States.DataLimitExceeded', 'the state output exceeded 262144 bytes'); },
    ReadServiceAfterItsExecution: ecsSays,
  });
  assert.equal(r.calls.ReadServiceAfterItsExecution, 1);
  assert.deepEqual(r.outcomes, ['ROLLBACK_FAILED']);
  assert.match(r.results[0].detail?.cause ?? r.results[0].cause, /ended States.DataLimitExceeded without a report; ECS says the service runs \["arn:aws:ecs:us-east-1:123456789012:task-definition\/web:7"\] \(\["PRIMARY"\], running \[3\]\)/);
  assert.doesNotMatch(JSON.stringify(r.results), /what it changed is unknown/);
});

test('only when ECS cannot be read either is what it changed "unknown"', async () => {
  const r = await run({
    DeployService: () => { throw lambdaError('States.DataLimitExceeded'); },
    ReadServiceAfterItsExecution: () => { throw lambdaError('Ecs.AccessDeniedException'); },
  });
  assert.equal(r.calls.ReadServiceAfterItsExecution, 4, 'tried, then retried three times');
  assert.deepEqual(r.outcomes, ['ROLLBACK_FAILED']);
  assert.match(JSON.stringify(r.results), /ECS could not be read: what it changed is unknown/);
});

// berth abort / berth promote: the service's berth:control tag, read by the Lambdas (README, "berth abort").
test('berth abort mid-rollout: WatchRollout (given the execution) fails it, the rollback is checked without it', async () => {
  const inputs = { WatchRollout: [], WatchRollback: [] };
  const r = await run({
    WatchRollout: (input) => { inputs.WatchRollout.push(input); return { status: 'FAILED', reason: 'Aborted', detail: 'aborted by hand (berth abort)' }; },
    WatchRollback: (input) => { inputs.WatchRollback.push(input); return { status: 'COMPLETED', detail: 'back on td:7' }; },
  });
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
  assert.equal(r.calls.Rollback, 1);
  assert.deepEqual(inputs.WatchRollout[0].execution, { id: 'arn', name: 'x', startTime: 't' });
  assert.equal(inputs.WatchRollback[0].execution, undefined, 'a rollback obeys no control');
  assert.equal(r.results[0].detail.stability.reason, 'Aborted');
});

test('berth abort before the turn: Aborted from AcquireTurn ends NOT_STARTED, nothing registered', async () => {
  const r = await run({ AcquireTurn: () => { throw lambdaError('Aborted', 'aborted by hand (berth abort) before its turn'); } });
  assert.deepEqual(r.outcomes, ['NOT_STARTED']);
  assert.equal(r.results[0].detail.error.Error, 'Aborted');
  assert.equal(r.calls.RegisterRevision + r.calls.UpdateService + r.calls.Rollback, 0);
});

test('berth promote ends the bake at the next evaluation; berth abort in the bake rolls back', async () => {
  const promoted = await run({
    EvaluateCanary: (_, n) => (n < 2
      ? { verdict: 'PASS', decision: 'CONTINUE', detail: 'ok so far' }
      : { verdict: 'PASS', decision: 'PROMOTE', promotedByHand: true, detail: 'promoted by hand (berth promote)' }),
  }, { items: [item({ canary: { bakeSeconds: 600, intervalSeconds: 1 } })] });
  assert.deepEqual(promoted.outcomes, ['DEPLOYED']);
  assert.equal(promoted.calls.EvaluateCanary, 2);
  assert.equal(promoted.results[0].detail.canaryResult.promotedByHand, true);
  const aborted = await run({
    EvaluateCanary: () => ({ verdict: 'INCONCLUSIVE', decision: 'ROLLBACK', abortedByHand: true, detail: 'aborted by hand (berth abort)' }),
  }, { items: [item({ canary: { bakeSeconds: 600, intervalSeconds: 1 } })] });
  assert.deepEqual(aborted.outcomes, ['ROLLED_BACK']);
  assert.equal(aborted.calls.Rollback, 1);
});

// The approval gate (AwaitApproval, events:putEvents.waitForTaskToken): its handler stands for the
// PutEvents call and the answer that comes back for its task token.
const gated = (timeoutSeconds = 5) => ({ items: [item({ approval: { timeoutSeconds } })] });

test('without an approval the gate is skipped', async () => {
  const r = await run();
  assert.equal(r.calls.AwaitApproval, 0);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

test('an approved gate publishes what waits and goes on to register and deploy', async () => {
  let published;
  const r = await run({ AwaitApproval: (input) => { published = input; return { by: 'alice', reason: 'ok', at: 't' }; } }, gated());
  const detail = published.Entries[0].Detail;
  assert.equal(published.Entries[0].Source, 'berth');
  assert.equal(published.Entries[0].DetailType, 'berth Deployment State Change');
  assert.equal(detail.phase, 'AWAITING_APPROVAL');
  assert.deepEqual([detail.cluster, detail.service, detail.deploymentId], ['prod', 'web', 'x/prod/web']);
  assert.equal(detail.approval.timeoutSeconds, 5);
  assert.equal(detail.approval.taskToken, 'token-1');
  // the deployment's execution (the parent), not the service's own
  assert.equal(detail.execution, 'arn');
  assert.equal(detail.approval.answer, 'berth approve x | berth reject x');
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
  assert.deepEqual(r.results[0].detail.approved, { by: 'alice', reason: 'ok', at: 't' });
  assert.equal(r.calls.RegisterRevision, 1);
});

test('a rejected gate ends NOT_STARTED NotApproved before anything is registered', async () => {
  const r = await run({ AwaitApproval: () => { throw lambdaError('NotApproved', 'rejected by alice: no'); } }, gated());
  assert.deepEqual(r.outcomes, ['NOT_STARTED']);
  assert.equal(r.results[0].detail.error.Error, 'NotApproved');
  assert.equal(r.calls.RegisterRevision + r.calls.UpdateService + r.calls.Rollback, 0);
});

test('a gate nobody answers in time ends NOT_STARTED NotApproved, timed out', async () => {
  const r = await run({ AwaitApproval: () => new Promise(() => {}) }, gated(1));
  assert.deepEqual(r.outcomes, ['NOT_STARTED']);
  assert.equal(r.results[0].detail.error.Error, 'NotApproved');
  assert.match(r.results[0].detail.error.Cause, /within 1 s \(timed out\)/);
  assert.equal(r.calls.RegisterRevision + r.calls.UpdateService, 0);
});

// The release gates (README, "Release gates"): before the turn, nothing changed by a refusal.
const FREEZE = [{ source: 'service web tag berth:freeze', timeZone: 'UTC', windows: ['daily 22:00 - 06:00'], onFreeze: 'wait' }];

test('without gate settings no gate runs', async () => {
  const r = await run();
  assert.equal(r.calls.CheckFreeze + r.calls.CheckScan, 0);
});

test('a freeze that waits is waited for, then checked again, and the deploy goes on', async () => {
  const r = await run({
    CheckFreeze: (doc, n) => {
      assert.deepEqual(doc.document.freeze, FREEZE);
      assert.equal(doc.gate, 'freeze');
      return n < 2 ? { decision: 'WAIT', until: '2026-12-02T06:00:00Z', detail: 'frozen', checkedAt: 't' }
        : { decision: 'OPEN', detail: 'open', checkedAt: 't' };
    },
  }, { items: [item({ freeze: FREEZE })] });
  assert.equal(r.calls.CheckFreeze, 2);
  assert.equal(r.calls.AcquireTurn, 1);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
  assert.equal(r.results[0].detail.freezeCheck.decision, 'OPEN');
});

test('Frozen and ImageScanFailed end NOT_STARTED before the turn: nothing registered', async () => {
  for (const [gate, name, extra] of [['CheckFreeze', 'Frozen', { freeze: FREEZE }], ['CheckScan', 'ImageScanFailed', { scan: {} }]]) {
    const r = await run({ [gate]: () => { throw lambdaError(name, 'refused'); } }, { items: [item(extra)] });
    assert.deepEqual(r.outcomes, ['NOT_STARTED'], name);
    assert.equal(r.results[0].error, name);
    assert.equal(r.calls.AcquireTurn + r.calls.RegisterRevision + r.calls.UpdateService, 0, name);
  }
});

test('a running scan is waited for by the state machine, then the verdict decides', async () => {
  const r = await run({
    CheckScan: (doc, n) => {
      assert.equal(doc.gate, 'scan');
      if (n > 1) assert.equal(doc.document.scanResult.waitingSince, 'first look');
      return n < 3 ? { verdict: 'wait', status: 'IN_PROGRESS', until: 't', retryAfterSeconds: 1, waitingSince: 'first look', checkedAt: 't' }
        : { verdict: 'allow', counts: {}, worst: [], reason: 'clean', waitingSince: 'first look', checkedAt: 't' };
    },
  }, { items: [item({ scan: { threshold: 'HIGH' } })] });
  assert.equal(r.calls.CheckScan, 3);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

// The migration task (README, "Migration task"): PrepareMigration says what to run, Step Functions'
// ecs:runTask.sync runs it, JudgeMigration judges how it ended; nothing changes before it passed.
const migrating = () => ({ items: [item({ migration: { command: ['migrate'], timeoutSeconds: 600 } })] });

test('a migration runs through ecs:runTask.sync with RunTask\'s parameters, is judged, then the rollout starts', async () => {
  const seen = {};
  const r = await run({
    RunMigration: (input) => { seen.params = input; return stoppedTask(0); },
    JudgeMigration: (input) => { seen.judged = input.migrationTask; return { ...input.migrationTask, stopped: undefined, done: true, status: 'STOPPED' }; },
  }, migrating());
  assert.deepEqual(seen.params, prepared().runTask);
  assert.deepEqual(seen.judged.stopped, stoppedTask(0));
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
  assert.equal(r.calls.RunMigrationWithoutNetwork, 0);
  assert.equal(r.calls.UpdateService, 1);
});

test('a task definition without awsvpc runs without NetworkConfiguration', async () => {
  let params;
  const r = await run({ PrepareMigration: () => prepared({ network: false }),
    RunMigrationWithoutNetwork: (input) => { params = input; return stoppedTask(0); } }, migrating());
  assert.equal(r.calls.RunMigration, 0);
  assert.deepEqual(Object.keys(params).sort(), ['Cluster', 'Group', 'LaunchType', 'Overrides', 'TaskDefinition']);
  assert.deepEqual(r.outcomes, ['DEPLOYED']);
});

test('without a migration none of its states runs', async () => {
  const r = await run();
  assert.equal(r.calls.PrepareMigration + r.calls.RunMigration + r.calls.JudgeMigration, 0);
});

for (const [what, fail] of [
  ['a non-zero exit (States.TaskFailed, the task as its cause)', () => { throw lambdaError('States.TaskFailed', JSON.stringify(stoppedTask(3))); }],
  ['a task ECS did not start (AmazonECS.Unknown)', () => { throw lambdaError('AmazonECS.Unknown', '[{"Reason":"RESOURCE:ENI"}]'); }],
  ['a task past its timeout (States.Timeout)', () => new Promise(() => {})],
]) {
  test(`${what} reaches JudgeMigration, whose MigrationFailed ends NOT_STARTED with nothing changed`, async () => {
    let caught;
    const r = await run({ RunMigration: fail,
      JudgeMigration: (input) => { caught = input.migrationTask.error; throw lambdaError('MigrationFailed', 'the migration task failed'); } }, migrating());
    assert.ok(caught?.Error, 'JudgeMigration got the caught error');
    assert.equal(caught.Error, { 'a non-zero exit (States.TaskFailed, the task as its cause)': 'States.TaskFailed',
      'a task ECS did not start (AmazonECS.Unknown)': 'AmazonECS.Unknown', 'a task past its timeout (States.Timeout)': 'States.Timeout' }[what]);
    assert.equal(r.calls.RunMigration, 1, 'never retried: a retry would run the migration twice');
    assert.deepEqual(r.outcomes, ['NOT_STARTED']);
    assert.equal(r.results[0].detail.error.Error, 'MigrationFailed');
    assert.equal(r.calls.UpdateService + r.calls.Rollback, 0);
  });
}

// Stop-then-start (README, "Stop-then-start"): the old tasks stop before the new revision starts,
// and on the way back the new revision's tasks stop before the previous revision starts again.
const stopThenStart = () => ({ items: [item({ stopThenStart: { timeoutSeconds: 300 } })] });

test('a stop-then-start rollback stops the new tasks first, then restores the previous revision', async () => {
  const order = [];
  let stopInput;
  const r = await run({
    StartNewTasks: () => { order.push('StartNewTasks'); return { ecsDeploymentId: 'ecs-svc/1', taskDefinitionArn: 'td:8', startedAt: 't', deadline: clock.deadline(), desiredCount: 3, watch: WATCH }; },
    WatchRollout: () => ({ status: 'FAILED', detail: 'tasks failed to start' }),
    StopFailedTasks: (input, n) => { order.push('StopFailedTasks'); stopInput ??= input;
      return { ...input.stopping, deadline: 'set', scaledDown: true, running: n < 2 ? 2 : 0, drained: n >= 2 }; },
    Rollback: (input) => { order.push('Rollback'); assert.equal(input.rollbackStop.drained, true);
      return { taskDefinitionArn: 'td:7', rollout: { ecsDeploymentId: 'ecs-svc/2', taskDefinitionArn: 'td:7', startedAt: 't', deadline: clock.deadline(), desiredCount: 3, watch: WATCH }, detail: 'back' }; },
  }, stopThenStart());
  assert.deepEqual(order, ['StartNewTasks', 'StopFailedTasks', 'StopFailedTasks', 'Rollback']);
  // the rollback's own stop: the recorded count, not yet scaled down, its deadline set by stop-service
  assert.equal(stopInput.rollingBack, true);
  assert.deepEqual(stopInput.stopping, stopping({ deadline: '', scaledDown: false, drained: false, timeoutSeconds: 300 }));
  assert.equal(r.calls.UpdateService, 0);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
});

test('a stop-then-start deploy that failed before the old tasks were gone rolls back without a second stop', async () => {
  const r = await run({ StopOldTasks: () => { throw lambdaError('StopTimeout', '2 task(s) of web were still running'); } }, stopThenStart());
  assert.equal(r.calls.StartNewTasks + r.calls.StopFailedTasks, 0);
  assert.equal(r.calls.Rollback, 1);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
});

test('a rolling deploy rolls back without any stop', async () => {
  const r = await run({ WatchRollout: () => ({ status: 'FAILED', detail: 'x' }) });
  assert.equal(r.calls.StopFailedTasks + r.calls.RecordDesiredCount, 0);
  assert.deepEqual(r.outcomes, ['ROLLED_BACK']);
});

test('new tasks that do not stop in time end ROLLBACK_FAILED, the previous revision not started', async () => {
  const r = await run({ WatchRollout: () => ({ status: 'FAILED', detail: 'x' }),
    StopFailedTasks: () => { throw lambdaError('StopTimeout', 'still running; the previous revision was not started again'); } }, stopThenStart());
  assert.equal(r.calls.Rollback, 0);
  assert.deepEqual(r.outcomes, ['ROLLBACK_FAILED']);
  assert.equal(r.results[0].detail.error.Error, 'StopTimeout');
});
