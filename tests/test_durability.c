/*
 * Durability: a mock-ingest process under load is killed with SIGKILL, several
 * times over the same database; afterwards every item whose request got a 2xx
 * must be in the file. Usage: test_durability PATH-TO-MOCK-INGEST
 *
 * ctest also runs this against mock-ingest-unsafe (answers before it commits)
 * and expects it to fail there: proof that this test can see the defect.
 */
#include "support.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { THREADS = 4, ROUNDS = 3, MAX_ACKS = 200000 };

typedef struct shared {
    char url[128];
    atomic_bool stop;
    pthread_mutex_t mu;
    char (*acked)[32]; /* request ids whose POST got a 200 */
    size_t nacked;
    int round;
} shared;

typedef struct worker {
    shared *sh;
    int id;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    char url[256];
    snprintf(url, sizeof url, "%s/v1/traces", sh->url);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    FILE *devnull = fopen("/dev/null", "w");
    for (int i = 0; !atomic_load(&sh->stop); i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "r%d-w%d-%d", sh->round, w->id, i);
        char *body = t_otlp_spans(rid, 8, rid);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
        long status = 0;
        CURLcode rc = curl_easy_perform(h);
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        free(body);
        if (rc != CURLE_OK)
            break; /* the server is gone */
        if (status == 200) {
            pthread_mutex_lock(&sh->mu);
            if (sh->nacked < MAX_ACKS)
                memcpy(sh->acked[sh->nacked++], rid, sizeof rid);
            pthread_mutex_unlock(&sh->mu);
        }
    }
    fclose(devnull);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return NULL;
}

/* Starts the binary and reads its first line, the base URL. */
static pid_t spawn(const char *bin, const char *db, char *url, size_t urllen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, "--listen", "127.0.0.1:0", "--db", db, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(url, (int)urllen, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    url[strcspn(url, "\r\n")] = '\0';
    fclose(f);
    return pid;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-MOCK-INGEST\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "ingest.db");
    shared sh = {0};
    pthread_mutex_init(&sh.mu, NULL);
    sh.acked = calloc(MAX_ACKS, sizeof *sh.acked);
    int failures = 0;
    for (int round = 0; round < ROUNDS; round++) {
        sh.round = round;
        atomic_store(&sh.stop, false);
        pid_t pid = spawn(argv[1], db, sh.url, sizeof sh.url);
        if (pid <= 0) {
            fprintf(stderr, "cannot start %s\n", argv[1]);
            return 1;
        }
        size_t before = sh.nacked;
        pthread_t th[THREADS];
        worker ws[THREADS];
        for (int i = 0; i < THREADS; i++) {
            ws[i] = (worker){&sh, i};
            pthread_create(&th[i], NULL, worker_main, &ws[i]);
        }
        /* Kill mid-load, at a different point each round. */
        struct timespec ts = {0, 300000000L + 170000000L * round};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        atomic_store(&sh.stop, true);
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        size_t acked_now = sh.nacked - before;
        printf("round %d: %zu requests acknowledged before SIGKILL\n", round, acked_now);
        if (acked_now == 0) {
            fprintf(stderr, "round %d: no request was acknowledged: the test proves nothing\n",
                    round);
            failures++;
        }
    }

    /* Independent read of the file the killed processes left. */
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s\n", db);
        return 1;
    }
    sqlite3_stmt *ic;
    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &ic, NULL);
    if (sqlite3_step(ic) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(ic, 0), "ok")) {
        fprintf(stderr, "integrity_check failed\n");
        failures++;
    }
    sqlite3_finalize(ic);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM items WHERE request_id = ? AND accepted = 1", -1,
                       &s, NULL);
    size_t missing = 0;
    for (size_t i = 0; i < sh.nacked; i++) {
        sqlite3_bind_text(s, 1, sh.acked[i], -1, SQLITE_STATIC);
        int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
        sqlite3_reset(s);
        if (n != 8) {
            if (missing < 5)
                fprintf(stderr, "acknowledged request %s has %d of 8 items\n", sh.acked[i], n);
            missing++;
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
    printf("%zu acknowledged requests checked, %zu missing\n", sh.nacked, missing);
    if (missing)
        failures++;
    free(sh.acked);
    t_rmtree(dir);
    free(db);
    free(dir);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
