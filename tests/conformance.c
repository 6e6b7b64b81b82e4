// SPDX-License-Identifier: MIT
/* Reader for manifest.tsv and the NAME.bin / NAME.mem files of the conformance suite. */
#include "conformance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_file(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int err;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = -errno;
		fclose(f);
		return err;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*ret_buf = buf;
	*ret_len = (size_t)len;
	return 0;
}

/* Splits a tab-separated line in place; empty fields stay empty strings. */
static int split_tabs(char *line, char **fields, int max)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		fields[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

static int load_case(const char *dir, char **f, struct conformance_case *c)
{
	char path[1024];
	size_t len;
	int err;

	snprintf(c->name, sizeof(c->name), "%s", f[0]);
	c->expected_r0 = strtoull(f[3], NULL, 0);
	snprintf(c->expected_error, sizeof(c->expected_error), "%s", f[4]);
	snprintf(c->features, sizeof(c->features), "%s", f[5]);
	snprintf(path, sizeof(path), "%s/bin/%s.bin", dir, c->name);
	err = read_file(path, (uint8_t **)&c->insns, &len);
	if (err)
		return err;
	c->insn_cnt = (uint32_t)(len / sizeof(struct bpf_insn));
	c->mem_len = (uint32_t)strtoul(f[2], NULL, 0);
	if (c->mem_len) {
		snprintf(path, sizeof(path), "%s/bin/%s.mem", dir, c->name);
		err = read_file(path, &c->mem, &len);
		if (err)
			return err;
		if (len != c->mem_len)
			return -EINVAL;
	}
	return 0;
}

int conformance_load(const char *dir, struct conformance_case **ret_cases)
{
	struct conformance_case *cases = NULL;
	char path[1024], line[1024];
	int n = 0, cap = 0, err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bin/manifest.tsv", dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) { /* header row */
		fclose(f);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *fields[6] = { "", "", "", "", "", "" };

		if (split_tabs(line, fields, 6) < 4)
			continue;
		if (n == cap) {
			struct conformance_case *grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(cases, (size_t)cap * sizeof(*cases));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			cases = grown;
		}
		memset(&cases[n], 0, sizeof(cases[n]));
		err = load_case(dir, fields, &cases[n]);
		n++;
		if (err)
			break;
	}
	fclose(f);
	if (err) {
		conformance_free(cases, n);
		return err;
	}
	*ret_cases = cases;
	return n;
}

void conformance_free(struct conformance_case *cases, int n)
{
	for (int i = 0; i < n; i++) {
		free(cases[i].insns);
		free(cases[i].mem);
	}
	free(cases);
}
