#pragma once

// unique_ptr owners of OpenSSL objects. Each frees one reference; take a second reference
// (X509_up_ref, EVP_PKEY_up_ref, SSL_CTX_up_ref) before wrapping a borrowed object.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/cwrap/c_ptr.h"

namespace webrtc2sip {

using SslPtr = CPtr<SSL, SSL_free>;
using SslCtxPtr = CPtr<SSL_CTX, SSL_CTX_free>;
using X509Ptr = CPtr<X509, X509_free>;
using EvpPkeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpCipherCtxPtr = CPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using EvpCipherPtr = CPtr<EVP_CIPHER, EVP_CIPHER_free>;
using BioPtr = CPtr<BIO, BIO_free>;
using BioMethodPtr = CPtr<BIO_METHOD, BIO_meth_free>;

}  // namespace webrtc2sip
