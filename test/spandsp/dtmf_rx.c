/*
 * dtmf_rx: decode DTMF from 8 kHz signed 16-bit little-endian mono PCM on
 * stdin with the spandsp DTMF receiver at its most permissive settings, and
 * print every digit it reports, one per line, as "<digit>".
 *
 * tonewall's suppressor tests run it over suppressed audio and expect no
 * output. Build: cc -o dtmf_rx dtmf_rx.c -lspandsp (Debian: libspandsp-dev).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <spandsp.h>

static int found;

static void on_digits(void *user, const char *digits, int len)
{
    (void) user;
    for (int i = 0; i < len; i++) {
        printf("%c\n", digits[i]);
        found++;
    }
}

int main(int argc, char **argv)
{
    /* twist and reverse twist in dB, threshold in dBm0 (argv overrides). */
    int twist = argc > 1 ? atoi(argv[1]) : 12;
    int reverse = argc > 2 ? atoi(argv[2]) : 12;
    int threshold = argc > 3 ? atoi(argv[3]) : -50;
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, on_digits, NULL);
    if (rx == NULL) {
        fprintf(stderr, "dtmf_rx_init failed\n");
        return 2;
    }
    dtmf_rx_parms(rx, 0, twist, reverse, threshold);
    int16_t buf[160];
    size_t n;
    while ((n = fread(buf, sizeof(int16_t), 160, stdin)) > 0)
        dtmf_rx(rx, buf, (int) n);
    int16_t zero[160] = {0};
    for (int i = 0; i < 10; i++)
        dtmf_rx(rx, zero, 160);
    dtmf_rx_free(rx);
    fflush(stdout);
    return 0;
}
