#include <stdio.h>
#include <stdlib.h>
/* A tiny program for the lackey sample: a strided sum and a few random updates. */
int main(void)
{
	enum { N = 256 };
	static long a[N];
	unsigned s = 12345;
	long sum = 0;
	for (int i = 0; i < N; i++)
		a[i] = i;
	for (int i = 0; i < N; i += 4)
		sum += a[i];
	for (int i = 0; i < 64; i++) {
		s = s * 1103515245u + 12345u;
		a[(s >> 8) % N] ^= i;
	}
	printf("sum %ld a[7] %ld\n", sum, a[7]);
	return 0;
}
