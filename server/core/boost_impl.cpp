// The compiled parts of Boost.Asio and Boost.Beast, built once here instead
// of in every translation unit that includes them (BOOST_ASIO_SEPARATE_-
// COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are set for the target).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
