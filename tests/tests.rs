mod batch;
mod http;
mod reload;
mod serve_support;
