/* main.c - placeholder until the CLI lands. */
#include <stdio.h>
int main(void) { puts("vmsim: CLI not built yet"); return 1; }
