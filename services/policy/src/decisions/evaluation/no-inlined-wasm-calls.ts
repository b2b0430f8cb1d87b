import { setFlagsFromString } from 'node:v8';

/**
 * Node 20's V8 (11.3) aborts the whole process ("Fatal error ... unreachable
 * code" in Deoptimizer::DoComputeBuiltinContinuation) when optimized code that
 * inlined a JS-to-Wasm call is deoptimized lazily while that call runs: it
 * cannot rebuild the continuation of a Wasm export that returns a reference,
 * as Cedar's exports do. Under load this took down `bench:e2e` in 2 of 3
 * default runs, inside `DecideActionUseCase.decide` -> `PolicyEvaluator.evaluate`
 * -> `statefulIsAuthorized`.
 *
 * Without the inlining, a call into Cedar goes through V8's generic wrapper;
 * bench:gates' policy-alone p50 did not move measurably. Imported for its
 * effect before Cedar is first called, so no code that calls it is optimized
 * with the flag on.
 */
setFlagsFromString('--no-turbo-inline-js-wasm-calls');
