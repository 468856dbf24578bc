// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// `mpirun -np 3 arpipe run --mpi` on this one machine (built only with Open MPI, CMake option ARPIPE_MPI):
// rank 0 hands the inputs out to two worker ranks and writes one output, which must be the bytes of a plain
// `arpipe run` over the same list, a corrupt and a missing input included; a job whose worker rank is killed
// ends, and the same command with --resume completes it to the same bytes.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

using testing::TempDir;

namespace {

using Ran = testing::CliRun;

std::string model() { return "-m " + testing::repo_path("tests/data/models/loudness_clip.pt"); }

/// `mpirun` with the flags a one-machine test needs: more ranks than cores, as root in CI, no core binding (the
/// ranks share the two cores), and only the local transports.
std::string mpirun(int ranks) {
    return std::string(ARPIPE_MPIEXEC) + " --oversubscribe --allow-run-as-root --bind-to none --mca btl self,vader -np " +
           std::to_string(ranks) + " ";
}

Ran shell(const std::string& cmd, const TempDir& dir) { return testing::run_shell(cmd, dir); }

/// `count` inputs of different lengths (the loud halves give events), every seventh one not audio, one name
/// that CSV must quote and JSON escape; plus a path that does not exist. Returns the arguments for `run`.
std::string make_corpus(const TempDir& dir, int count) {
    const std::string in = dir.file("in");
    std::filesystem::create_directory(in);
    for (int i = 0; i < count; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/a%03d.wav", i);
        if (i % 7 == 3) {
            testing::write_text(in + name, "RIFF but not really a wave file");
            continue;
        }
        const double s = 1.0 + (i * 37 % 11) * 0.5;
        testing::write_audio(in + name,
                             testing::concat({testing::silence(s / 2, 16000), testing::noise(s / 2, 16000, 0.5f, 5 + i)}),
                             16000);
    }
    testing::write_audio(in + "/we\"ird,name\xe9.wav", testing::noise(2.5, 16000, 0.5f, 99), 16000);
    return in + " " + dir.file("missing.wav");
}

/// The number of terminal records in a JSON Lines output.
std::size_t terminal_records(const std::string& jsonl) {
    std::size_t n = 0;
    std::istringstream lines(jsonl);
    for (std::string line; std::getline(lines, line);)
        n += line.rfind("{\"type\":\"summary\"", 0) == 0 || line.rfind("{\"type\":\"error\"", 0) == 0;
    return n;
}

/// The pids of the processes whose parent is `parent` and whose environment says OMPI_COMM_WORLD_RANK=`rank`.
std::vector<pid_t> ranks_of(pid_t parent, int rank) {
    std::vector<pid_t> found;
    DIR* proc = ::opendir("/proc");
    if (!proc) return found;
    const std::string want = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
    while (const dirent* e = ::readdir(proc)) {
        const pid_t pid = std::atoi(e->d_name);
        if (pid <= 0) continue;
        std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
        std::string s((std::istreambuf_iterator<char>(stat)), {});
        const std::size_t close = s.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream fields(s.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        fields >> state >> ppid;
        if (ppid != parent) continue;
        const std::string env = testing::read_text("/proc/" + std::string(e->d_name) + "/environ");
        std::size_t at = 0;
        for (std::size_t end; (end = env.find('\0', at)) != std::string::npos; at = end + 1)
            if (env.compare(at, end - at, want) == 0) found.push_back(pid);
    }
    ::closedir(proc);
    return found;
}

}  // namespace

TEST_CASE("mpirun -np 3 arpipe run --mpi writes the bytes of one plain run, a corrupt and a missing input included") {
    TempDir dir;
    const std::string inputs = make_corpus(dir, 40);
    const std::string cli = ARPIPE_CLI_PATH;
    for (const std::string format : {"jsonl", "csv"}) {
        CAPTURE(format);
        const std::string ref = dir.file("ref." + format), got = dir.file("mpi." + format);
        const Ran plain = shell(cli + " run -q -j 2 " + model() + " -f " + format + " -o " + ref + " " + inputs, dir);
        REQUIRE_MESSAGE(plain.code == 1, plain.err);  // the corrupt and missing inputs' error records
        const Ran mpi = shell(mpirun(3) + cli + " run --mpi -j 1 " + model() + " -f " + format + " -o " + got + " " + inputs, dir);
        CHECK_MESSAGE(mpi.code == 1, mpi.err);
        const std::string want = testing::read_text(ref);
        CHECK(!want.empty());
        CHECK(testing::read_text(got) == want);
        // The closing line counts every input once: 34 + the odd name are audio, 6 corrupt + 1 missing fail.
        CHECK_MESSAGE(mpi.err.find("35 ok, 7 failed") != std::string::npos, mpi.err);
        CHECK_MESSAGE(mpi.err.find("2 worker rank(s)") != std::string::npos, mpi.err);
    }
    // Records on standard output too, with scores.
    const Ran plain = shell(cli + " run -q -j 2 --scores " + model() + " " + inputs, dir);
    const Ran mpi = shell(mpirun(3) + cli + " run -q --mpi -j 1 --scores " + model() + " " + inputs, dir);
    CHECK(mpi.code == 1);
    CHECK(!plain.out.empty());
    CHECK(mpi.out == plain.out);
}

TEST_CASE("--mpi refuses what it cannot do, and one rank runs as a plain run") {
    TempDir dir;
    const std::string inputs = make_corpus(dir, 3);
    const std::string cli = ARPIPE_CLI_PATH;
    Ran r = shell(cli + " run --mpi -f table " + model() + " " + inputs, dir);
    CHECK(r.code == 2);
    CHECK(r.err.find("--mpi needs -f jsonl or -f csv") != std::string::npos);
    r = shell(cli + " run --mpi --shard 0/2 " + model() + " " + inputs, dir);
    CHECK(r.code == 2);
    CHECK(r.err.find("--mpi and --shard") != std::string::npos);
    // A model that cannot load: rank 0 says so once and the job ends with 2.
    r = shell(mpirun(3) + cli + " run --mpi -m " + dir.file("no-such-model.pt") + " " + inputs, dir);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.err.find("no-such-model.pt") != std::string::npos, r.err);
    // Without mpirun there is one rank: a warning, then an ordinary run with the same records.
    const Ran plain = shell(cli + " run -q -j 1 " + model() + " " + inputs, dir);
    r = shell(cli + " run --mpi -j 1 " + model() + " " + inputs, dir);
    CHECK(r.code == 1);
    CHECK(r.err.find("--mpi with one rank") != std::string::npos);
    CHECK(r.out == plain.out);
}

TEST_CASE("a --mpi --resume job whose worker rank is killed ends, and --resume completes it to the same bytes") {
    TempDir dir;
    const std::string inputs = make_corpus(dir, 120);
    const std::string cli = ARPIPE_CLI_PATH;
    const std::string ref = dir.file("ref.jsonl"), out = dir.file("out.jsonl"), journal = out + ".partial";
    REQUIRE(shell(cli + " run -q -j 2 " + model() + " -o " + ref + " " + inputs, dir).code == 1);
    const std::string want = testing::read_text(ref);
    const std::size_t total = terminal_records(want);
    REQUIRE(total == 122);

    const std::string cmd = mpirun(3) + cli + " run -q --mpi -j 1 --batch 1 " + model() + " --resume -o " + out + " " + inputs;
    // Inputs go out longest first, so the journal (which grows in list order) fills mostly at the end, and the
    // work itself is short: a kill can land after rank 1 has done its part and the job completes anyway. Such
    // an attempt proves nothing; it is repeated (up to 5 times) until a kill lands mid-job.
    std::size_t kept = total;
    for (int attempt = 1; attempt <= 5; ++attempt) {
        std::filesystem::remove(out);
        std::filesystem::remove(journal);
        const pid_t job = ::fork();
        if (job == 0) {
            ::setpgid(0, 0);
            ::execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >/dev/null 2>" + dir.file("killed.err")).c_str(), nullptr);
            ::_exit(127);
        }
        // Kill worker rank 1 as soon as the journal holds an input.
        bool killed = false;
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (std::chrono::steady_clock::now() < limit) {
            int status = 0;
            if (::waitpid(job, &status, WNOHANG) == job) break;
            if (terminal_records(testing::read_text(journal)) >= 1) {
                for (pid_t rank1 : ranks_of(job, 1)) killed |= ::kill(rank1, SIGKILL) == 0;
                if (killed) break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        int status = 0;
        ::waitpid(job, &status, 0);
        REQUIRE_MESSAGE(killed, testing::read_text(dir.file("killed.err")));
        if (std::filesystem::exists(out)) {
            MESSAGE("attempt " << attempt << ": the kill came after rank 1's last input; the job completed");
            CHECK(testing::read_text(out) == want);
            continue;
        }
        CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));  // the job ended with the rank
        kept = terminal_records(testing::read_text(journal));
        MESSAGE("attempt " << attempt << ": the killed job's journal held " << kept << " of " << total << " inputs");
        break;
    }
    REQUIRE_MESSAGE(!std::filesystem::exists(out), "no attempt killed rank 1 before the job completed");
    CHECK(kept < total);

    const Ran resumed = shell(cmd, dir);
    CHECK_MESSAGE(resumed.code == 1, resumed.err);
    CHECK(testing::read_text(out) == want);
    CHECK(!std::filesystem::exists(journal));
}
