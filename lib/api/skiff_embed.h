/* Running Skiff from C: start EAL and the stack from the command line (EAL args, "--", stack options,
 * then the app's own arguments), then call `hook` on every shard's lcore after every poll iteration until
 * it returns non-zero, SIGINT/SIGTERM, or skiff_embed_stop(). Returns the exit status (2 for bad options). */
#ifndef SKIFF_EMBED_H
#define SKIFF_EMBED_H

#ifdef __cplusplus
extern "C" {
#endif

int skiff_embed_run(int argc, char** argv, const char* app, int (*hook)(void* arg), void* arg);
void skiff_embed_stop(void);
/* The i-th argument left for the app (after EAL args, "--" and the stack options), or NULL. */
const char* skiff_embed_app_arg(int argc, char** argv, int i);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_EMBED_H */
