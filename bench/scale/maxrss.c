/*
 * maxrss OUT COMMAND [ARGS...]: runs COMMAND, waits for it, and writes
 * "<peak RSS in KiB> <wall seconds> <exit status>" to the file OUT.
 *
 * Why not Python's resource.getrusage(RUSAGE_CHILDREN) or os.wait4 around a
 * subprocess: Linux folds the forking process's resident set into the child's
 * ru_maxrss at exec (the memory it replaced), so a child of python3 reports at
 * least python3's own ~14 MB, above edgeloss's whole footprint. Forked from
 * this small program, the child's ru_maxrss is its own high-water mark.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: maxrss OUT COMMAND [ARGS...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *out = fopen(argv[1], "w");
    if (!out || fprintf(out, "%ld %.3f %d\n", ru.ru_maxrss, wall, code) < 0 || fclose(out) != 0) {
        perror(argv[1]);
        return 2;
    }
    return 0;
}
