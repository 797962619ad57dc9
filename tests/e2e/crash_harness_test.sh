#!/usr/bin/env bash
# Crash harness. Each trial runs a small workflow in a session of its own (so that reel leads
# its own process group, as under a CI runner), SIGKILLs that whole group at a random moment,
# and resumes the newest run, killable the same way, until the run succeeds. Then:
#   - no step ran more often than the kills allow: a step starts once per engine that starts
#     it, and is repeated only when an engine died after it started and before its success was
#     committed: count(done) - 1 <= such kills (the window between a command's exit and the
#     commit of its success is the one place where a finished command may run again);
#   - nothing outlived a killed engine: no step, grandchild or guardian;
#   - reel.db passes PRAGMA integrity_check, and no run is left `running`.
# The random choices come from REEL_CRASH_SEED; REEL_CRASH_TRIALS sets the number of trials and
# REEL_CRASH_BUDGET the seconds after which no new trial starts (a longer soak raises both);
# REEL_CRASH_VERBOSE=1 prints each kill.
source "$(dirname "$0")/lib.sh"

export REEL_CRASH_SEED="${REEL_CRASH_SEED:-20261207}"
export REEL_CRASH_TRIALS="${REEL_CRASH_TRIALS:-30}"
export REEL_CRASH_BUDGET="${REEL_CRASH_BUDGET:-70}"
/usr/bin/python3 - "$WORK" <<'PY'
import json, os, random, signal, sqlite3, subprocess, sys, time

work = sys.argv[1]
reel, home = os.environ["REEL"], os.environ["REEL_HOME"]
seed = os.environ["REEL_CRASH_SEED"]
trials = int(os.environ["REEL_CRASH_TRIALS"])
budget = float(os.environ["REEL_CRASH_BUDGET"])
verbose = os.environ.get("REEL_CRASH_VERBOSE") == "1"
t0 = time.monotonic()

#   a --> b --> e --> g
#     \-> c -/       /
#      \-> d --> f -/
NEEDS = {"a": [], "b": ["a"], "c": ["a"], "d": ["a"], "e": ["b", "c"], "f": ["d"],
         "g": ["e", "f"]}
MAX_KILLS_PER_TRIAL = 3  # then the run is left to finish
problems = []


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def problem(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    problems.append(msg)


def reel_json(*args):
    r = subprocess.run([reel, *args, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"reel {' '.join(args)} --json exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return json.loads(r.stdout)


def lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def marked(mark):
    """Live (not zombie) processes whose environment holds `mark`, as (pid, name)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":  # zombies are dead
            found.append({"pid": int(entry), "name": stat[stat.index("(") + 1:stat.rindex(")")],
                          "pgid": int(fields[2])})
    return found


def whose(orphan, d):
    """The step whose process group `orphan` is in (its command recorded the group's id)."""
    for s in NEEDS:
        try:
            with open(f"{d}/started.{s}") as f:
                if str(orphan["pgid"]) in f.read().split():
                    with open(f"{d}/done.{s}") if os.path.exists(f"{d}/done.{s}") else \
                            open(os.devnull) as g:
                        finished = str(orphan["pgid"]) in g.read().split()
                    return dict(orphan, step=s, command_finished=finished)
        except FileNotFoundError:
            pass
    return orphan


def integrity():
    db = sqlite3.connect(f"file:{home}/reel.db?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


kills = repeats = orphans = engines = done_trials = 0
for trial in range(trials):
    if time.monotonic() - t0 > budget:
        break
    done_trials += 1
    name = f"crash_t{trial}"
    d = os.path.join(work, name)
    os.makedirs(d)
    # Every choice comes from a generator seeded by (seed, trial[, launch]), so that the k-th
    # engine of a trial gets the same kill plan however the earlier ones went.
    sleeps = {s: round(random.Random(f"{seed}.{trial}.{s}").uniform(0.02, 0.3), 3)
              for s in NEEDS}
    with open(f"{d}/wf.yaml", "w") as f:
        f.write(f"name: {name}\nsteps:\n")
        for s, needs in NEEDS.items():
            # The background sleep, in the step's process group, outlives the step's command
            # unless something kills that group: the engine when the command exits, the
            # guardian when the engine dies. One left running is plain to see.
            cmd = (f"echo $$ >> {d}/started.{s}; sleep 60 >/dev/null 2>&1 & "
                   f"sleep {sleeps[s]}; echo $$ >> {d}/done.{s}")
            f.write(f"  {s}:\n    operator: shell\n    needs: {json.dumps(needs)}\n"
                    f"    with: {{command: [sh, -c, {json.dumps(cmd)}]}}\n")
    committed = set()  # steps whose success a killed run committed: a resume reuses them

    def path_len(s):
        own = 0 if s in committed else sleeps[s]
        return own + max((path_len(n) for n in NEEDS[s]), default=0)

    uncommitted_kills = {s: 0 for s in NEEDS}  # kills while the step ran, not yet committed
    known, current, trial_kills = set(), None, 0
    while True:
        rng = random.Random(f"{seed}.{trial}.{trial_kills}")
        engines += 1
        mark = f"REEL_CRASH_MARK={seed}.{engines}"
        args = ["run", f"{d}/wf.yaml"] if current is None else ["resume", current]
        started_before = {s: lines(f"{d}/started.{s}") for s in NEEDS}
        env = dict(os.environ, REEL_CRASH_MARK=mark.split("=", 1)[1])
        log_path = f"{d}/engine.{engines}.log"
        with open(log_path, "w") as log:
            engine = subprocess.Popen([reel, *args], env=env, stdout=log, stderr=log,
                                      start_new_session=True)
        # The kill lands somewhere in the time the rest of the run should take (start-up
        # included), or, one time in three, right after a step's command has finished (its
        # `done` line is written) when its success may not be committed yet.
        horizon = max(path_len(s) for s in NEEDS) + 0.3
        kill = trial_kills < MAX_KILLS_PER_TRIAL
        delay = rng.uniform(0, horizon)
        at_done = rng.random() < 1 / 3
        after_done = rng.uniform(0, 0.005)
        t_start = time.monotonic()
        if kill and at_done:
            done_before = sum(lines(f"{d}/done.{s}") for s in NEEDS)
            while engine.poll() is None and time.monotonic() < t_start + horizon:
                if sum(lines(f"{d}/done.{s}") for s in NEEDS) > done_before:
                    time.sleep(after_done)
                    break
                time.sleep(0.002)
        try:
            rc = engine.wait(timeout=(0 if at_done else delay) if kill else None)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(engine.pid, signal.SIGKILL)
            t_killed = time.monotonic()
            rc = engine.wait()
            killed = True
        if killed:
            kills += 1
            trial_kills += 1
        deadline = time.monotonic() + 5
        while (left := marked(mark.encode())) and time.monotonic() < deadline:
            time.sleep(0.02)
        if left:
            orphans += len(left)
            problem(f"trial {trial}: outlived `reel {' '.join(args)}`"
                    f"{' (killed)' if killed else ''}: {[whose(o, d) for o in left]}")
            for o in left:
                os.kill(o["pid"], signal.SIGKILL)
        runs = reel_json("runs", "--workflow", name)  # marks the killed run failed
        if any(r["status"] in ("queued", "running") for r in runs):
            fail(f"trial {trial}: a run is still active after its engine died: {runs}")
        new = [r["run_id"] for r in runs if r["run_id"] not in known]
        known.update(r["run_id"] for r in runs)
        if len(new) > 1:
            fail(f"trial {trial}: one engine created several runs: {new}")
        tasks = {}
        if new:  # none when the engine died before it created its run: resume the same again
            current = new[0]
            tasks = {t["step"]: t["status"] for t in reel_json("show", current)["tasks"]}
        if not killed:
            if rc != 0 or not new or any(tasks.get(s) != "succeeded" for s in NEEDS):
                fail(f"trial {trial}: reel {' '.join(args)} exited {rc}, tasks {tasks}; "
                     f"see {log_path}")
            break
        for s in NEEDS:
            if lines(f"{d}/started.{s}") > started_before[s] and tasks.get(s) != "succeeded":
                uncommitted_kills[s] += 1
            if tasks.get(s) == "succeeded":
                committed.add(s)
        if verbose:
            print(f"trial {trial} {args[0]}: killed after {t_killed - t_start:.3f}s"
                  f"{' (after a done)' if at_done else ''}, checked in "
                  f"{time.monotonic() - t_killed:.2f}s, committed {sorted(committed)}",
                  file=sys.stderr)
    for s in NEEDS:
        started, done = lines(f"{d}/started.{s}"), lines(f"{d}/done.{s}")
        if started != uncommitted_kills[s] + 1 or done < 1 or done - 1 > uncommitted_kills[s]:
            problem(f"trial {trial}: step {s} started {started} and completed {done} times, "
                    f"with {uncommitted_kills[s]} kill(s) while it ran uncommitted; see {d}")
        repeats += max(done - 1, 0)
    if (check := integrity()) != "ok":
        fail(f"trial {trial}: reel.db integrity_check: {check}")

if active := [r for r in reel_json("runs", "--limit", "100000")
              if r["status"] in ("queued", "running")]:
    problem(f"runs left active: {active}")
print(f"crash harness: trials={done_trials} kills={kills} repeats={repeats} orphans={orphans} "
      f"engines={engines} seed={seed} wall={time.monotonic() - t0:.1f}s")
sys.exit(1 if problems else 0)
PY
