#ifndef VOXBRIDGE_CCURL_H
#define VOXBRIDGE_CCURL_H

// Distinct opaque types for CURL * and CURLM *, so Swift cannot mix them up.
#define CURL_STRICTER
#include <curl/curl.h>

// curl_easy_setopt, curl_multi_setopt and curl_easy_getinfo are C variadic functions, which Swift
// cannot call. These fixed-type wrappers pass exactly the argument type each option documents,
// so a `long` option never receives a pointer by accident. They are static inline so the
// system-library target needs no compiled C file.

static inline CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_write_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode ccurl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

// CURLMsg keeps the transfer's result in a union; reading it in C avoids depending on how Swift
// imports anonymous unions.
static inline CURLcode ccurl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

// CURL_ERROR_SIZE is a macro; Swift sees this one value instead.
static inline size_t ccurl_error_size(void) {
    return CURL_ERROR_SIZE;
}

#endif
