// Apart from the command, so `leash help` does not load the replay's scratch system.
export const REPLAY_HELP = `leash replay TASK_ID [--release N] [--prompt FILE] [--model NAME] [--policy FILE]
             [--tools recorded|live-read] [--json]
leash replay --runs "FILTER" [the same options]

Re-runs recorded runs under a changed version, on a scratch system in this
process: the task input, every tool output and every reviewer's verdict come
from the audit log; the gates decide for real under the replayed release
(its policy, a scratch budget ledger); no tool that writes runs and nothing
outside changes. With no change, a run replays exactly as recorded.

  --release N     the agent's release N instead of the one the run used
  --prompt FILE   a new system prompt (the model is asked from the first turn)
  --model NAME    another model on the profile (asked from the first turn)
  --policy FILE   a new Cedar policy
  --tools live-read   a read tool called with arguments the recording lacks
                  runs on the scratch system's simulated backends; by default
                  the replay stops there, marked as the point of divergence
  --runs "FILTER" the runs a \`leash runs search\` filter finds, as name=value
                  words: --runs "agent=support status=failed since=7d limit=50"

While the replay is the recorded run, the model's turns come from the
recording; from the first difference on, the model LEASH_MODEL names is asked
(OPENAI_BASE_URL / OPENAI_API_KEY as for the services). An approval the
recording has no verdict for is left unanswered and the replay stops.
Prints both trajectories side by side and a verdict: same, better, worse,
changed, or diverged at step N; for many runs, a summary.
Exit: 0 every run replayed, 1 a run could not be read or replayed, 2 bad usage.
`;
