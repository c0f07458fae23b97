/*
 * berth-nsexec: the single-threaded step before a stage that must live in a user
 * namespace. Node always runs several threads, and the kernel refuses
 * unshare(CLONE_NEWUSER) and setns(CLONE_NEWUSER) to a multi-threaded process, so
 * this helper does those two calls (and everything that must follow them before
 * Node starts), then execs the Node stage.
 *
 *   berth-nsexec -s FD [-U | -u PATH] [-p [-w]] -- COMMAND ARGS...
 *
 * -U      unshare a new user namespace; tell the parent ({"type":"userns"} on FD),
 *         wait for it to write uid_map/gid_map and answer {"type":"mapped"}.
 * -u PATH join the user namespace at PATH.
 * Then it becomes root of the user namespace.
 * -p      unshare a new pid namespace (so the user namespace owns it, which mounting
 *         proc needs) and fork: the child, pid 1 there, execs COMMAND; this process
 *         reports {"type":"pid","pid":N} (the child's pid on the host) and then
 *         exits at once, leaving the child to the caller's subreaper (a shim reaps
 *         the init itself, as without a user namespace), or with -w waits for the
 *         child and ends the same way it did (the same status, or the same signal).
 * Without -p it reports {"type":"joined"} and execs COMMAND itself.
 * Failures are reported as {"type":"error","message":...} on FD, exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int sync_fd = -1;
static pid_t child = -1;

static void say(const char *line) {
  size_t len = strlen(line), off = 0;
  while (off < len) {
    ssize_t n = write(sync_fd, line + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += (size_t)n;
  }
}

static void fail(const char *what) {
  char line[512];
  snprintf(line, sizeof line, "{\"type\":\"error\",\"message\":\"%s: %s\"}\n", what, strerror(errno));
  if (sync_fd >= 0) say(line);
  else fprintf(stderr, "berth-nsexec: %s: %s\n", what, strerror(errno));
  _exit(1);
}

/* One newline-terminated line from the sync fd (a byte at a time: nothing is read past it). */
static void read_line(char *buf, size_t size) {
  size_t n = 0;
  while (n + 1 < size) {
    ssize_t r = read(sync_fd, buf + n, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(1); /* the parent is gone or gave up */
    if (buf[n] == '\n') break;
    n++;
  }
  buf[n] = 0;
}

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

/* Reaps the child and ends the way it ended: the same status, or the same signal. */
static void wait_and_mirror(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) continue;
    sigaction(sig, &sa, NULL);
  }
  /* Hold nothing of the container's: no stdio, no other fds, no cwd. */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; fd++) dup2(null, fd);
  for (int fd = 3; fd < 1024; fd++) close(fd);
  if (chdir("/") < 0) {}
  int status = 0;
  for (;;) {
    pid_t r = waitpid(child, &status, 0);
    if (r == child) break;
    if (r < 0 && errno != EINTR) _exit(1);
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  signal(sig, SIG_DFL);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_UNBLOCK, &all, NULL);
  kill(getpid(), sig);
  _exit(128 + sig);
}

int main(int argc, char **argv) {
  int new_user = 0, new_pid = 0, wait_child = 0, i = 1;
  const char *user_path = NULL;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) { i++; break; }
    if (!strcmp(argv[i], "-s") && i + 1 < argc) sync_fd = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-U")) new_user = 1;
    else if (!strcmp(argv[i], "-u") && i + 1 < argc) user_path = argv[++i];
    else if (!strcmp(argv[i], "-p")) new_pid = 1;
    else if (!strcmp(argv[i], "-w")) wait_child = 1;
    else { fprintf(stderr, "berth-nsexec: unknown argument %s\n", argv[i]); return 1; }
  }
  if (sync_fd < 0 || i >= argc || (new_user && user_path) || (wait_child && !new_pid)) {
    fprintf(stderr, "usage: berth-nsexec -s FD [-U | -u PATH] [-p [-w]] -- COMMAND ARGS...\n");
    return 1;
  }
  /* The container must not reach this binary through /proc/PID/exe. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (new_user) {
    if (unshare(CLONE_NEWUSER) < 0) fail("unshare user namespace");
    say("{\"type\":\"userns\"}\n");
    char line[256];
    read_line(line, sizeof line);
    if (!strstr(line, "\"mapped\"")) _exit(1);
  } else if (user_path) {
    int fd = open(user_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open user namespace");
    if (setns(fd, CLONE_NEWUSER) < 0) fail("join user namespace");
    close(fd);
  }
  if (new_user || user_path) {
    if (setresgid(0, 0, 0) < 0) fail("become gid 0 in the user namespace (is gid 0 mapped?)");
    /* Fails when setgroups is denied in a joined namespace: then there are none to drop. */
    if (setgroups(0, NULL) < 0 && errno != EPERM) fail("setgroups");
    if (setresuid(0, 0, 0) < 0) fail("become uid 0 in the user namespace (is uid 0 mapped?)");
  }
  if (new_pid) {
    if (unshare(CLONE_NEWPID) < 0) fail("unshare pid namespace");
    child = fork();
    if (child < 0) fail("fork");
    if (child > 0) {
      char line[64];
      snprintf(line, sizeof line, "{\"type\":\"pid\",\"pid\":%d}\n", (int)child);
      say(line);
      if (wait_child) wait_and_mirror();
      _exit(0);
    }
  } else {
    say("{\"type\":\"joined\"}\n");
  }
  execvp(argv[i], argv + i);
  fail("exec the stage");
  return 1;
}
