#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>

/* Non-variadic wrappers for curl_easy_setopt and curl_easy_getinfo: Swift cannot call C
 * variadic functions. One wrapper per argument type libcurl documents for an option;
 * each passes its arguments through unchanged and returns libcurl's result. */

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
/* Strings, lists (struct curl_slist *) and userdata; libcurl copies strings, except
 * where its documentation says otherwise (CURLOPT_POSTFIELDS, CURLOPT_ERRORBUFFER). */
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value);
/* CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION share this signature. */
CURLcode ccurl_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback callback);
/* A *_BLOB option (CA, client certificate, key in memory); libcurl copies the bytes
 * (CURL_BLOB_COPY), so they need not outlive the call. */
CURLcode ccurl_easy_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length);

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);
/* The string belongs to the handle: valid until the next transfer or cleanup. */
CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);

#endif
