/* Replays files (or every file of folders) through LLVMFuzzerTestOneInput,
 * so `meson test` runs the committed corpus without libFuzzer (gcc builds).
 * A crash or sanitizer report fails the test; decode refusals do not. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return -1;
        }
        size_t cap = 4096, len = 0;
        uint8_t *buf = malloc(cap);
        size_t n;
        while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
                len += n;
                if (len == cap) {
                        uint8_t *nb = realloc(buf, cap *= 2);
                        if (!nb)
                                free(buf);
                        buf = nb;
                }
        }
        fclose(f);
        if (!buf)
                return -1;
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        return 0;
}


int main(int argc, char **argv)
{
        int files = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (replay_file(argv[i]) < 0)
                                return 1;
                        files++;
                        continue;
                }
                struct dirent **names;
                int n = scandir(argv[i], &names, NULL, alphasort);
                if (n < 0) {
                        perror(argv[i]);
                        return 1;
                }
                for (int k = 0; k < n; k++) {
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
                        if (names[k]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                                if (replay_file(path) < 0)
                                        return 1;
                                files++;
                        }
                        free(names[k]);
                }
                free(names);
        }
        printf("replayed %d inputs\n", files);
        /* An empty corpus means the test checks nothing: fail it. */
        return files > 0 ? 0 : 1;
}
